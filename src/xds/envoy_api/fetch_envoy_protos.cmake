# Fetches Envoy's API protos (and xds, udpa, googleapis, protoc-gen-validate)
# from the npm package @grpc/grpc-js-xds, which ships them under deps/. Run
# with cmake -P; inputs: NPM, PACKAGE, VERSION, SHA512 (hex), DEST.
#
# Nothing is copied into the repository: the package is fetched at the pinned
# version, its SHA-512 checked, and unpacked under the build tree. The
# package's validate/validate.proto predates the Envoy API it ships: Envoy
# uses StringRules.ignore_empty (field 26), which protoc rejects as unknown,
# so a copy with that one field added is written next to it.
cmake_minimum_required(VERSION 3.25)

set(stamp "${DEST}/fetched-${VERSION}.stamp")
if(EXISTS "${stamp}")
  return()
endif()

file(REMOVE_RECURSE "${DEST}")
file(MAKE_DIRECTORY "${DEST}")
execute_process(
  COMMAND "${NPM}" pack "${PACKAGE}@${VERSION}" --pack-destination "${DEST}" --silent
  WORKING_DIRECTORY "${DEST}"
  RESULT_VARIABLE result
  OUTPUT_VARIABLE tarball
  ERROR_VARIABLE error
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "npm pack ${PACKAGE}@${VERSION} failed (${result}): ${error}")
endif()
set(tarball "${DEST}/${tarball}")

file(SHA512 "${tarball}" actual)
if(NOT actual STREQUAL SHA512)
  message(FATAL_ERROR "${PACKAGE}@${VERSION}: SHA-512 is ${actual}, expected ${SHA512}; "
                      "refusing to use it")
endif()

execute_process(COMMAND "${CMAKE_COMMAND}" -E tar xzf "${tarball}"
                WORKING_DIRECTORY "${DEST}" RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cannot unpack ${tarball}")
endif()

set(validate_in "${DEST}/package/deps/protoc-gen-validate/validate/validate.proto")
file(READ "${validate_in}" validate)
string(FIND "${validate}" "ignore_empty" has_ignore_empty)
if(has_ignore_empty EQUAL -1)
  string(REPLACE "message StringRules {"
                 "message StringRules {\n    optional bool ignore_empty = 26;  // added by protomesh's build\n"
                 validate "${validate}")
endif()
file(WRITE "${DEST}/validate-compat/validate/validate.proto" "${validate}")

file(TOUCH "${stamp}")
