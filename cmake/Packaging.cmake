# `cpack -G DEB` from the build directory: a Debian package with the binary, the systemd unit
# (packaging/keygate.service), the logrotate file and the configuration in /etc/keygate.
# tests/e2e/deb_package.sh builds it and checks its contents and control fields.
include(GNUInstallDirs)

install(TARGETS keygate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES packaging/keygate.service DESTINATION /lib/systemd/system)
# Configuration files (listed in the package's conffiles: an upgrade keeps local edits).
set(KEYGATE_CONFFILES /etc/keygate/keygate.env /etc/keygate/keys.yaml /etc/logrotate.d/keygate)
install(FILES packaging/keygate.env packaging/keys.yaml DESTINATION /etc/keygate
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES examples/logrotate/keygate DESTINATION /etc/logrotate.d)
install(FILES README.md keys.example.yaml env.example docs/cli.md docs/key-file.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES packaging/deb/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME keygate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "keygate maintainers <keygate@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "API key sidecar for nginx auth_request, forward auth and Envoy ext_authz")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "keygate validates static API keys for proxies: nginx auth_request, Traefik and Caddy\n\
forward auth, Envoy ext_authz and a JSON authorize API, with an audit log, Prometheus\n\
metrics and key reload without restarts. Runs as the systemd unit keygate.service.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: from the libraries the binary links (dpkg-shlibdeps), plus what the maintainer
# scripts and the logrotate file call.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "logrotate")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

set(KEYGATE_DEB_CONTROL ${CMAKE_BINARY_DIR}/deb-control)
string(REPLACE ";" "\n" KEYGATE_CONFFILES_TEXT "${KEYGATE_CONFFILES}")
file(WRITE ${KEYGATE_DEB_CONTROL}/conffiles "${KEYGATE_CONFFILES_TEXT}\n")
foreach(script postinst prerm postrm)
  configure_file(packaging/deb/${script} ${KEYGATE_DEB_CONTROL}/${script} COPYONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                  WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${KEYGATE_DEB_CONTROL}/conffiles ${KEYGATE_DEB_CONTROL}/postinst
    ${KEYGATE_DEB_CONTROL}/prerm ${KEYGATE_DEB_CONTROL}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
