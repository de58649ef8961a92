# Copies one of etcd's .proto files (as Debian's golang-etcd-server-dev
# installs them) to OUTPUT without what only Go needs: the gogoproto import
# and options, and the grpc-gateway HTTP annotations. Neither changes the
# wire format, and protoc for C++ has neither file. Run by bench/CMakeLists.txt:
#   cmake -DINPUT=<installed .proto> -DOUTPUT=<copy> -P strip_etcd_proto.cmake
if(NOT INPUT OR NOT OUTPUT)
  message(FATAL_ERROR "strip_etcd_proto.cmake: pass -DINPUT=... -DOUTPUT=...")
endif()
file(READ "${INPUT}" text)
string(REGEX REPLACE "import \"gogoproto/gogo.proto\";" "" text "${text}")
string(REGEX REPLACE "import \"google/api/annotations.proto\";" "" text "${text}")
# File options: option (gogoproto.marshaler_all) = true;
string(REGEX REPLACE "option[ \t]*\\(gogoproto\\.[A-Za-z0-9_]+\\)[ \t]*=[ \t]*[A-Za-z0-9_\"]+[ \t]*;" "" text "${text}")
# Field options: [(gogoproto.nullable) = false] (etcd 3.4's rpc, kv and auth
# protos have none, but other versions do).
string(REGEX REPLACE "\\[[ \t]*\\(gogoproto\\.[^]]*\\]" "" text "${text}")
# Method options: option (google.api.http) = { post: "/v3/kv/range" body: "*" };
# with at most one level of nested braces (additional_bindings { ... }).
string(REGEX REPLACE "option[ \t\r\n]*\\(google\\.api\\.http\\)[ \t\r\n]*=[ \t\r\n]*{([^{}]|{[^{}]*})*}[ \t\r\n]*;" "" text "${text}")
foreach(leftover gogoproto google.api)
  string(FIND "${text}" "${leftover}" at)
  if(NOT at EQUAL -1)
    string(SUBSTRING "${text}" ${at} 120 context)
    message(FATAL_ERROR "strip_etcd_proto.cmake: ${INPUT} still mentions ${leftover} after "
                        "stripping; its format changed. Near: ${context}")
  endif()
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from ${INPUT} by bench/strip_etcd_proto.cmake.\n${text}")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
