# `cmake --install build [--prefix P]`: headers, both libraries, the program, the
# CMake package (find_package(hyperntk) -> hyperntk::hyperntk), the pkg-config
# file and the Python package (docs/python.md).
include(CMakePackageConfigHelpers)

set(HYPERNTK_PYTHON_INSTALL_DIR "lib/python3/dist-packages" CACHE STRING
    "where `cmake --install` puts the Python package hyperntk, relative to the prefix")

install(TARGETS hyperntk RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS hyperntk_core ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS hyperntk_shared EXPORT hyperntkTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/hyperntk DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT hyperntkTargets NAMESPACE hyperntk:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hyperntk)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/hyperntkConfig.cmake.in
     "@PACKAGE_INIT@\n"
     "# hyperntk::hyperntk: the shared library libhyperntk.so and its headers (C11).\n"
     "include(\"\${CMAKE_CURRENT_LIST_DIR}/hyperntkTargets.cmake\")\n"
     "check_required_components(hyperntk)\n")
configure_package_config_file(${CMAKE_CURRENT_BINARY_DIR}/hyperntkConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/hyperntkConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hyperntk)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/hyperntkConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/hyperntkConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/hyperntkConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hyperntk)

# pkg-config: -lhyperntk is the shared library; Libs.private serves `--static`.
set(pc_libs "")
foreach(lib ${GSL_LIBRARY} ${OPENBLAS_LIBRARY} ${HDF5_C_HL_LIBRARIES} ${HDF5_HL_LIBRARIES} ${HDF5_C_LIBRARIES}
            ${HDF5_LIBRARIES} ${MPI_C_LIBRARIES} ${MATH_LIBRARY})
  if(lib MATCHES "^/")
    list(APPEND pc_libs ${lib})
  endif()
endforeach()
list(REMOVE_DUPLICATES pc_libs)
list(JOIN pc_libs " " pc_libs)
set(HYPERNTK_PC_PRIVATE " ${pc_libs}")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/hyperntk.pc.in
     "prefix=\${pcfiledir}/../..\n"
     "libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}\n"
     "includedir=\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}\n\n"
     "Name: hyperntk\n"
     "Description: ${PROJECT_DESCRIPTION}\n"
     "Version: ${PROJECT_VERSION}\n"
     "Cflags: -I\${includedir}\n"
     "Libs: -L\${libdir} -lhyperntk\n"
     "Libs.private:${HYPERNTK_PC_PRIVATE} ${OpenMP_C_FLAGS}\n")
configure_file(${CMAKE_CURRENT_BINARY_DIR}/hyperntk.pc.in ${CMAKE_CURRENT_BINARY_DIR}/hyperntk.pc COPYONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/hyperntk.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The Python package, and where it finds the library once installed: a path
# relative to the package's folder, so the installed tree can move as a whole.
file(RELATIVE_PATH HYPERNTK_PY_TO_LIB /p/${HYPERNTK_PYTHON_INSTALL_DIR}/hyperntk /p/${CMAKE_INSTALL_LIBDIR})
string(REGEX REPLACE "/+$" "" HYPERNTK_PY_TO_LIB "${HYPERNTK_PY_TO_LIB}")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/python_install/_location.py
     "# Written by cmake/HyperntkInstall.cmake for the installed package: the shared library,\n"
     "# relative to this folder.  HYPERNTK_LIBRARY (a path) overrides it.\n"
     "LIBRARY = \"${HYPERNTK_PY_TO_LIB}/libhyperntk.so.${PROJECT_VERSION_MAJOR}\"\n")
install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/python/hyperntk DESTINATION ${HYPERNTK_PYTHON_INSTALL_DIR}
        PATTERN "__pycache__" EXCLUDE PATTERN "_location.py" EXCLUDE)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/python_install/_location.py
        DESTINATION ${HYPERNTK_PYTHON_INSTALL_DIR}/hyperntk)
