# One place for the compiler flags every project target shares.
add_library(efsas_warnings INTERFACE)
target_compile_options(efsas_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion -Wnull-dereference
  -Wdouble-promotion -Wformat=2 -Wno-format-nonliteral -Wimplicit-fallthrough)
# GCC 12 at -O3 reports false -Wrestrict errors inside libstdc++'s std::string (GCC bug 105329),
# on code as plain as `s += "-" + std::to_string(n)`; the warning is not trustworthy there.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(efsas_warnings INTERFACE -Wno-restrict)
endif()
if(EFSAS_WERROR)
  target_compile_options(efsas_warnings INTERFACE -Werror)
endif()
if(EFSAS_COVERAGE)
  target_compile_options(efsas_warnings INTERFACE --coverage -O0)
  target_link_options(efsas_warnings INTERFACE --coverage)
endif()

# efsas_add_test(NAME name SOURCES ... LIBS ... LABELS unit|property|integration
#                [RESOURCE_LOCK lock ...] [TIMEOUT seconds])
# One GoogleTest executable is one CTest test, so that suite-wide fixtures (a moto_server, three
# nfs-ganesha processes) start once per executable. `ctest -R name` runs one file; inside it,
# GTEST_FILTER picks cases.
function(efsas_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;RESOURCE_LOCK" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} efsas_test_support GTest::gtest
                        GTest::gtest_main efsas_warnings)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} --gtest_color=no)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
                       ENVIRONMENT "EFSAS_SOURCE_DIR=${PROJECT_SOURCE_DIR};EFSAS_BINARY_DIR=${PROJECT_BINARY_DIR}")
  if(T_RESOURCE_LOCK)
    set_tests_properties(${T_NAME} PROPERTIES RESOURCE_LOCK "${T_RESOURCE_LOCK}")
  endif()
endfunction()
