# C++ from proto/*.proto (protoc + grpc_cpp_plugin, Debian's protobuf-compiler-grpc), built
# into keygate_grpc_proto. The generated headers are SYSTEM includes: generated code is not
# held to the project's warnings.
pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++)
pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf)
# Abseil's mutex settings (src/grpc/grpc_server.cpp turns its deadlock detection off).
pkg_check_modules(ABSL_SYNCHRONIZATION REQUIRED IMPORTED_TARGET absl_synchronization)
find_program(KEYGATE_PROTOC protoc REQUIRED)
find_program(KEYGATE_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

set(KEYGATE_PROTO_DIR ${PROJECT_SOURCE_DIR}/proto)
set(KEYGATE_PROTO_GEN ${PROJECT_BINARY_DIR}/proto_gen)
# The messages, and (second list) the files that also define a service.
set(KEYGATE_PROTO_FILES
  envoy/config/core/v3/address.proto
  envoy/config/core/v3/base.proto
  envoy/type/v3/http_status.proto
  google/rpc/status.proto
  envoy/service/auth/v3/attribute_context.proto
  envoy/service/auth/v3/external_auth.proto
  grpc/health/v1/health.proto)
set(KEYGATE_PROTO_SERVICES
  envoy/service/auth/v3/external_auth.proto
  grpc/health/v1/health.proto)

set(KEYGATE_PROTO_SOURCES)
foreach(proto ${KEYGATE_PROTO_FILES})
  string(REGEX REPLACE "\\.proto$" "" stem ${proto})
  set(outputs ${KEYGATE_PROTO_GEN}/${stem}.pb.cc ${KEYGATE_PROTO_GEN}/${stem}.pb.h)
  set(grpc_args)
  if(proto IN_LIST KEYGATE_PROTO_SERVICES)
    list(APPEND outputs ${KEYGATE_PROTO_GEN}/${stem}.grpc.pb.cc ${KEYGATE_PROTO_GEN}/${stem}.grpc.pb.h)
    set(grpc_args --grpc_out=${KEYGATE_PROTO_GEN} --plugin=protoc-gen-grpc=${KEYGATE_GRPC_CPP_PLUGIN})
  endif()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${KEYGATE_PROTO_GEN}
    COMMAND ${KEYGATE_PROTOC} -I${KEYGATE_PROTO_DIR} -I${PROTOBUF_INCLUDEDIR}
            --cpp_out=${KEYGATE_PROTO_GEN} ${grpc_args} ${KEYGATE_PROTO_DIR}/${proto}
    DEPENDS ${KEYGATE_PROTO_DIR}/${proto}
    COMMENT "protoc ${proto}"
    VERBATIM)
  foreach(output ${outputs})
    if(output MATCHES "\\.cc$")
      list(APPEND KEYGATE_PROTO_SOURCES ${output})
    endif()
  endforeach()
endforeach()

add_library(keygate_grpc_proto STATIC ${KEYGATE_PROTO_SOURCES})
target_include_directories(keygate_grpc_proto SYSTEM PUBLIC ${KEYGATE_PROTO_GEN})
target_link_libraries(keygate_grpc_proto PUBLIC PkgConfig::GRPCPP PkgConfig::PROTOBUF
  PkgConfig::ABSL_SYNCHRONIZATION)
# The sanitizer builds instrument the generated code too (but hold it to no warnings).
if(KEYGATE_SANITIZERS)
  target_compile_options(keygate_grpc_proto PRIVATE -fsanitize=${_keygate_san} -fno-omit-frame-pointer)
  if("undefined" IN_LIST KEYGATE_SANITIZERS)
    target_compile_options(keygate_grpc_proto PRIVATE -fno-sanitize=vptr) # see StandardSettings
  endif()
endif()
