#pragma once
// YAML nodes as the one in-memory form of documents, and their JSON text.
// Files are read with yaml-cpp (JSON is YAML, and nodes keep their line
// numbers); protobuf's JSON output is read back into nodes the same way, so
// both directions meet in YAML::Node.
//
// A scalar's type follows YAML 1.2's core schema: a plain (unquoted) scalar
// may be null, a bool, an integer or a float; a quoted one, or one with an
// explicit tag, is always a string.
#include <string>

#include "src/common/json_text.h"
#include <string_view>

#include <yaml-cpp/yaml.h>

namespace protomesh::ctl {

enum class ScalarType { kNull, kBool, kInt, kFloat, kString };

// What a plain scalar's text denotes in the core schema.
ScalarType ResolvePlainScalar(std::string_view text);
// What a node denotes: null nodes are kNull, quoted or tagged scalars
// kString, plain scalars as ResolvePlainScalar says. Only for scalars and nulls.
ScalarType ScalarTypeOf(const YAML::Node& node);

// The JSON number for a core-schema integer or float (leading '+' and zeros
// dropped, hex and octal made decimal, ".5" made "0.5"); YAML's .inf and .nan
// become the JSON strings "Infinity", "-Infinity" and "NaN", as protobuf's
// JSON mapping writes them.
std::string JsonNumber(std::string_view text, ScalarType type);

inline std::string JsonQuote(std::string_view text) { return json::Quote(text); }

// Appends the JSON of `node`, scalars typed by the core schema. Compact
// unless `indent` > 0.
void AppendJson(const YAML::Node& node, std::string& out, int indent = 0);

// Scalar nodes made in code: a string (always printed as one) and a plain
// scalar (a number or bool, printed as is).
YAML::Node StringNode(std::string_view text);
YAML::Node PlainNode(std::string_view text);

// `node` as YAML; strings that would read back as something else (a number,
// a bool, null) are quoted.
void EmitYaml(const YAML::Node& node, YAML::Emitter& out);

}  // namespace protomesh::ctl
