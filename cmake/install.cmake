# cmake --install: the headers, the static libraries with an exported target
# set (find_package(libchan) gives libchan::libchan), a pkg-config file and
# the programs. Included at the end of the top-level CMakeLists.txt, once
# every target exists.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(LIBCHAN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/libchan)

# Installed names follow the aliases: libchan::core is libchan_core.a.
set(libchan_layers platform core codec proto session net)
set(libchan_library_targets libchan libchan_warnings)
foreach(layer ${libchan_layers})
  set_target_properties(libchan_${layer} PROPERTIES EXPORT_NAME ${layer} OUTPUT_NAME chan_${layer})
  list(APPEND libchan_library_targets libchan_${layer})
endforeach()
# Linked privately by the static libraries, so part of the export; it
# carries no usage requirement to consumers.
set_target_properties(libchan_warnings PROPERTIES EXPORT_NAME warnings)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/libchan DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS ${libchan_library_targets} EXPORT libchanTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT libchanTargets NAMESPACE libchan:: DESTINATION ${LIBCHAN_CMAKE_DIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/libchanConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/libchanConfig.cmake
                              INSTALL_DESTINATION ${LIBCHAN_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/libchanConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/libchanConfig.cmake
              ${PROJECT_BINARY_DIR}/libchanConfigVersion.cmake
        DESTINATION ${LIBCHAN_CMAKE_DIR})

# pkg-config: static libraries, so every library they need is in Libs. The
# file finds the prefix from its own place, so the tree can be moved.
file(RELATIVE_PATH LIBCHAN_PC_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
get_target_property(net_definitions libchan_net INTERFACE_COMPILE_DEFINITIONS)
list(TRANSFORM net_definitions PREPEND -D)
list(JOIN net_definitions " " LIBCHAN_PC_DEFINITIONS)
configure_file(${CMAKE_CURRENT_LIST_DIR}/libchan.pc.in ${PROJECT_BINARY_DIR}/libchan.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/libchan.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The programs, where this build has them.
foreach(program chancat chan-gateway rexec-server rexec-client)
  if(TARGET ${program})
    install(TARGETS ${program} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()
