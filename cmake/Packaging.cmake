# Install rules for what is not a target (units, configs, docs, man pages, completions) and
# the Debian packages: `cpack -G DEB` in a built build directory writes one .deb per
# component, always for the /usr prefix (scripts/test-packages --debs does this):
#   hybrid         the CLI, its man pages and completions, the docs          (component cli)
#   hybrid-tunnel  the tunnel server's systemd template unit, its system user
#                  (sysusers.d), a default config /etc/hybrid/tunnel-node1.json (tunnel)
#   hybrid-bridge  the security-key bridge's systemd user unit and udev rule   (bridge)
#   libhybrid0     libhybrid.so.0                                              (lib)
#   libhybrid-dev  headers, libhybrid.so, hybrid.pc, the example programs      (dev)
# Dependencies on other packages come from the shared libraries actually linked
# (dpkg-shlibdeps); between these packages, from the component dependencies below.
include(GNUInstallDirs)
# `make install` and cpack install what the packaged targets built (scripts/test-packages
# builds exactly those), without first building every test and benchmark.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# ---- Generated documentation: man pages and completions from the CLI's own options -----
set(HYBRID_GEN_DOCS ${CMAKE_BINARY_DIR}/generated-docs)
add_custom_command(
  OUTPUT ${HYBRID_GEN_DOCS}/stamp
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${HYBRID_GEN_DOCS}
  COMMAND $<TARGET_FILE:hybrid> help-man --out-dir ${HYBRID_GEN_DOCS}/man1
  COMMAND sh -c "gzip -9nf '${HYBRID_GEN_DOCS}'/man1/*.1"
  COMMAND sh -c "'$<TARGET_FILE:hybrid>' help-completion bash > '${HYBRID_GEN_DOCS}/hybrid.bash'"
  COMMAND sh -c "'$<TARGET_FILE:hybrid>' help-completion zsh > '${HYBRID_GEN_DOCS}/_hybrid'"
  COMMAND ${CMAKE_COMMAND} -E touch ${HYBRID_GEN_DOCS}/stamp
  DEPENDS hybrid
  COMMENT "Generating man pages and shell completions from hybrid's options"
  VERBATIM)
add_custom_target(hybrid_docs ALL DEPENDS ${HYBRID_GEN_DOCS}/stamp)

install(DIRECTORY ${HYBRID_GEN_DOCS}/man1 DESTINATION ${CMAKE_INSTALL_MANDIR} COMPONENT cli)
install(FILES ${HYBRID_GEN_DOCS}/hybrid.bash DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions
        RENAME hybrid COMPONENT cli)
install(FILES ${HYBRID_GEN_DOCS}/_hybrid DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/zsh/vendor-completions COMPONENT cli)
install(FILES README.md docs/tunnel.md docs/bridge.md docs/ble.md docs/qr.md docs/ctap.md docs/kiosk.md
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/hybrid COMPONENT cli)

# ---- The tunnel server as a service -------------------------------------------------
# Absolute /etc on purpose: configuration lives there whatever the prefix.
install(FILES deploy/hybrid-tunnel@.service DESTINATION lib/systemd/system COMPONENT tunnel)
install(FILES deploy/hybrid-tunnel.sysusers DESTINATION lib/sysusers.d RENAME hybrid-tunnel.conf COMPONENT tunnel)
install(FILES deploy/tunnel.example.json DESTINATION /etc/hybrid RENAME tunnel-node1.json COMPONENT tunnel)
install(FILES deploy/haproxy.cfg DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/hybrid-tunnel/examples COMPONENT tunnel)

# ---- The bridge -----------------------------------------------------------------------
install(FILES deploy/bridge/hybrid-bridge.service DESTINATION lib/systemd/user COMPONENT bridge)
install(FILES deploy/bridge/70-hybrid-bridge-uhid.rules DESTINATION lib/udev/rules.d COMPONENT bridge)

# ---- CPack ----------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hybrid)
set(CPACK_PACKAGE_VENDOR "hybrid-gateway")
set(CPACK_PACKAGE_CONTACT "hybrid-gateway maintainers <maintainers@users.noreply.r-seed-d6ba7303.example>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "passkeys on your phone for any PC (CTAP 2.2 hybrid / caBLE v2)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)  # whatever prefix `cmake --install` uses
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_STRIP_FILES ON)  # as Debian ships binaries (debug info stays in the build tree)
set(CPACK_COMPONENTS_ALL cli tunnel bridge lib dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/hybrid-gateway/hybrid-gateway")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME hybrid)
set(CPACK_COMPONENT_CLI_DESCRIPTION
  "passkeys on your phone for any PC (CTAP 2.2 hybrid / caBLE v2)\n The hybrid command: sign in and register with a passkey on a phone (QR code, Bluetooth\n LE proximity, tunnel server), a software phone, the virtual air, the demo kiosk.")
set(CPACK_DEBIAN_CLI_PACKAGE_RECOMMENDS "bluez, dbus")  # BlueZ for sign-in; dbus-daemon for the virtual air

set(CPACK_DEBIAN_TUNNEL_PACKAGE_NAME hybrid-tunnel)
set(CPACK_COMPONENT_TUNNEL_DEPENDS cli)
set(CPACK_COMPONENT_TUNNEL_DESCRIPTION
  "caBLE tunnel server as a systemd service\n hybrid-tunnel@.service runs `hybrid tunnel serve` as the hybrid-tunnel system user, one\n instance per /etc/hybrid/tunnel-<node>.json; logs go to the journal.")
set(CPACK_DEBIAN_TUNNEL_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_TUNNEL_PACKAGE_SECTION net)

set(CPACK_DEBIAN_BRIDGE_PACKAGE_NAME hybrid-bridge)
set(CPACK_COMPONENT_BRIDGE_DEPENDS cli)
set(CPACK_COMPONENT_BRIDGE_DESCRIPTION
  "the phone as a FIDO security key for Linux apps\n A systemd user service (hybrid-bridge.service) and a udev rule giving the seat's user\n /dev/uhid (see /usr/share/doc/hybrid/bridge.md for the trade-off).")

set(CPACK_DEBIAN_LIB_PACKAGE_NAME libhybrid0)
set(CPACK_COMPONENT_LIB_DESCRIPTION
  "passkeys on a phone over hybrid (caBLE v2) - shared library\n Run WebAuthn ceremonies with a phone, a software authenticator or a tunnel node from\n your own program.")
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
# shlibs file and ldconfig trigger for libhybrid0 (only packages with a versioned library get one).
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libhybrid-dev)
set(CPACK_COMPONENT_DEV_DEPENDS lib)
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "passkeys on a phone over hybrid (caBLE v2) - development files\n C and C++ headers (hybrid/hybrid.h, hybrid/hybrid.hpp), pkg-config file and examples.")
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)

# The only maintainer scripts: create the system user from sysusers.d, list the default
# config as a conffile (kept on remove, deleted on purge), tell a running systemd.
set(HYBRID_DEB_CONTROL ${CMAKE_BINARY_DIR}/deb-control/tunnel)
file(MAKE_DIRECTORY ${HYBRID_DEB_CONTROL})
file(WRITE ${HYBRID_DEB_CONTROL}/conffiles "/etc/hybrid/tunnel-node1.json\n")
file(WRITE ${HYBRID_DEB_CONTROL}/postinst "#!/bin/sh
set -e
if [ \"$1\" = configure ]; then
  systemd-sysusers hybrid-tunnel.conf
  if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
fi
")
file(WRITE ${HYBRID_DEB_CONTROL}/postrm "#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
")
file(CHMOD ${HYBRID_DEB_CONTROL}/postinst ${HYBRID_DEB_CONTROL}/postrm
     PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_TUNNEL_PACKAGE_CONTROL_EXTRA
  ${HYBRID_DEB_CONTROL}/conffiles ${HYBRID_DEB_CONTROL}/postinst ${HYBRID_DEB_CONTROL}/postrm)
set(CPACK_DEBIAN_TUNNEL_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
