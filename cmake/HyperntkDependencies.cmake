# Finds every dependency and bundles them in the interface target hyperntk::deps.
# A missing dependency stops the configuration with the Debian package to install.

function(hyperntk_require found what package)
  if(NOT ${found})
    message(FATAL_ERROR "hyperntk needs ${what}: install the Debian package '${package}' "
                        "(apt-get install ${package}), or run scripts/install-deps")
  endif()
endfunction()

# GSL, linked against OpenBLAS's CBLAS (never libgslcblas: about 10x slower here).
find_path(GSL_INCLUDE_DIR gsl/gsl_cblas.h)
find_library(GSL_LIBRARY NAMES gsl)
hyperntk_require(GSL_INCLUDE_DIR "the GNU Scientific Library headers" libgsl-dev)
hyperntk_require(GSL_LIBRARY "the GNU Scientific Library" libgsl-dev)

find_library(OPENBLAS_LIBRARY NAMES openblas)
hyperntk_require(OPENBLAS_LIBRARY "OpenBLAS (its CBLAS replaces libgslcblas)" libopenblas-dev)

find_path(RANDOM123_INCLUDE_DIR Random123/philox.h)
hyperntk_require(RANDOM123_INCLUDE_DIR "Random123 (counter-based Philox streams)" librandom123-dev)

find_package(OpenMP COMPONENTS C)
hyperntk_require(OpenMP_C_FOUND "OpenMP for C" libgomp1)

set(HDF5_PREFER_PARALLEL FALSE)
# HL: the high-level library (hdf5_hl) for dimension scales (H5DS, src/h5io.c).
# CMake's FindHDF5 (3.25, Debian 12) sets HDF5_HL_LIBRARIES and HDF5_C_HL_LIBRARIES
# (both .../hdf5/serial/libhdf5_hl.so) and HDF5_HL_FOUND.
find_package(HDF5 COMPONENTS C HL)
hyperntk_require(HDF5_FOUND "the HDF5 C library and its high-level library hdf5_hl" libhdf5-dev)
if(NOT HDF5_HL_LIBRARIES AND NOT HDF5_C_HL_LIBRARIES)
  hyperntk_require(HDF5_HL_LIBRARIES "the HDF5 high-level library hdf5_hl (dimension scales)" libhdf5-dev)
endif()

# zlib: the IDX reader (src/idx.c) reads gzip-compressed MNIST/Fashion-MNIST files directly.
find_package(ZLIB)
hyperntk_require(ZLIB_FOUND "zlib (the IDX reader of the image data sets)" zlib1g-dev)

# LAPACK's Cholesky (dpotrf/dpotrs, src/regress.c) comes from OpenBLAS itself.
include(CheckSymbolExists)
include(CMakePushCheckState)
cmake_push_check_state(RESET)
set(CMAKE_REQUIRED_LIBRARIES ${OPENBLAS_LIBRARY})
include(CheckFunctionExists)
check_function_exists(dpotrf_ HYPERNTK_OPENBLAS_HAS_LAPACK)
cmake_pop_check_state()
hyperntk_require(HYPERNTK_OPENBLAS_HAS_LAPACK "an OpenBLAS that ships LAPACK (dpotrf_, dpotrs_)" libopenblas-dev)

find_library(MATH_LIBRARY m)

# MPI (optional): `mpirun -np K hyperntk ...` splits the samples across K ranks
# (include/hyperntk/parallel.h).  A missing MPI builds without it.  The option is
# also declared in CMakeLists.txt (same default); declaring it here lets this
# module run first.
option(HYPERNTK_WITH_MPI "Build with MPI (Open MPI) when it is found" ON)
set(HYPERNTK_MPI_FOUND FALSE)
if(HYPERNTK_WITH_MPI)
  find_package(MPI COMPONENTS C QUIET)
  if(MPI_C_FOUND)
    set(HYPERNTK_MPI_FOUND TRUE)
    message(STATUS "hyperntk: building with MPI ${MPI_C_VERSION} (${MPI_C_LIB_NAMES}): mpirun -np K hyperntk ...")
  else()
    message(STATUS "hyperntk: MPI not found, building without it "
                   "(apt-get install libopenmpi-dev openmpi-bin to run across processes)")
  endif()
else()
  message(STATUS "hyperntk: building without MPI (HYPERNTK_WITH_MPI=OFF)")
endif()

add_library(hyperntk_deps INTERFACE)
add_library(hyperntk::deps ALIAS hyperntk_deps)
target_include_directories(hyperntk_deps SYSTEM INTERFACE ${GSL_INCLUDE_DIR} ${RANDOM123_INCLUDE_DIR} ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
target_compile_definitions(hyperntk_deps INTERFACE ${HDF5_C_DEFINITIONS} ${HDF5_DEFINITIONS})
# hdf5_hl before hdf5: it depends on it (matters for static linking).
target_link_libraries(hyperntk_deps INTERFACE ${GSL_LIBRARY} ${OPENBLAS_LIBRARY} OpenMP::OpenMP_C
                                              ${HDF5_C_HL_LIBRARIES} ${HDF5_HL_LIBRARIES}
                                              ${HDF5_C_LIBRARIES} ${HDF5_LIBRARIES} ZLIB::ZLIB ${MATH_LIBRARY})
if(HYPERNTK_MPI_FOUND)
  target_link_libraries(hyperntk_deps INTERFACE MPI::MPI_C)
  target_compile_definitions(hyperntk_deps INTERFACE HYPERNTK_HAVE_MPI=1)
endif()
