# One INTERFACE target with the project's warnings and sanitizer options; every target links it.
add_library(keygate_settings INTERFACE)
target_compile_options(keygate_settings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
                       -Woverloaded-virtual -Wnull-dereference -Wdouble-promotion
                       -Wformat=2 -Wimplicit-fallthrough
                       # GCC 12 reports false -Wrestrict on std::string concatenation at -O2
                       # (GCC bug 105329); it has no true positive in this code base.
                       $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)

option(KEYGATE_WERROR "Treat warnings as errors" OFF)
if(KEYGATE_WERROR)
  target_compile_options(keygate_settings INTERFACE -Werror)
endif()

# KEYGATE_SANITIZERS: "" (none), "address;undefined", or "thread".
set(KEYGATE_SANITIZERS "" CACHE STRING "Sanitizers to build with: address;undefined or thread")
if(KEYGATE_SANITIZERS)
  list(JOIN KEYGATE_SANITIZERS "," _keygate_san)
  target_compile_options(keygate_settings INTERFACE -fsanitize=${_keygate_san} -fno-omit-frame-pointer
                         -fno-sanitize-recover=all)
  target_link_options(keygate_settings INTERFACE -fsanitize=${_keygate_san})
  # UBSan's vptr check tests memory with a pipe: with every descriptor in use (the EMFILE
  # tests exhaust them on purpose) it cannot, and reports a valid object as "invalid vptr"
  # (seen in fmt's buffer). ASan still checks every access; only that one check is off.
  if("undefined" IN_LIST KEYGATE_SANITIZERS)
    target_compile_options(keygate_settings INTERFACE -fno-sanitize=vptr)
  endif()
endif()
