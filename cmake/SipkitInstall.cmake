# Install the layer libraries and headers, and a package config so consumers can write
#   find_package(sipkit CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE sipkit::parser)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(sipkit_targets GLOBAL PROPERTY SIPKIT_EXPORTED_TARGETS)
install(TARGETS ${sipkit_targets} EXPORT sipkitTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/sipkit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT sipkitTargets NAMESPACE sipkit:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sipkit)
# The package config finds the transport's own dependencies only when it is installed.
if(TARGET sipkit_transport)
  set(SIPKIT_PACKAGE_HAS_TRANSPORT 1)
else()
  set(SIPKIT_PACKAGE_HAS_TRANSPORT 0)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/sipkitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/sipkitConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sipkit)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sipkitConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sipkitConfig.cmake ${PROJECT_BINARY_DIR}/sipkitConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sipkit)
