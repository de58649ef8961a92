#include "src/ctl/yaml_json.h"

#include "src/common/json_text.h"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <regex>

namespace protomesh::ctl {
namespace {

const std::regex& IntRegex() {
  static const std::regex re(R"([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)");
  return re;
}
const std::regex& FloatRegex() {
  static const std::regex re(
      R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.nan|\.NaN|\.NAN)");
  return re;
}

bool Matches(std::string_view text, const std::regex& re) {
  return std::regex_match(text.begin(), text.end(), re);
}

void Newline(std::string& out, int indent, int depth) {
  if (indent <= 0) return;
  out.push_back('\n');
  out.append(static_cast<size_t>(indent * depth), ' ');
}

void AppendJsonAt(const YAML::Node& node, std::string& out, int indent, int depth) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out += "null";
      return;
    case YAML::NodeType::Scalar: {
      ScalarType type = ScalarTypeOf(node);
      const std::string& text = node.Scalar();
      switch (type) {
        case ScalarType::kNull:
          out += "null";
          return;
        case ScalarType::kBool:
          out += (text[0] == 't' || text[0] == 'T') ? "true" : "false";
          return;
        case ScalarType::kInt:
        case ScalarType::kFloat:
          out += JsonNumber(text, type);
          return;
        case ScalarType::kString:
          out += JsonQuote(text);
          return;
      }
      return;
    }
    case YAML::NodeType::Sequence: {
      if (node.size() == 0) {
        out += "[]";
        return;
      }
      out.push_back('[');
      bool first = true;
      for (const auto& element : node) {
        if (!first) out.push_back(',');
        first = false;
        Newline(out, indent, depth + 1);
        AppendJsonAt(element, out, indent, depth + 1);
      }
      Newline(out, indent, depth);
      out.push_back(']');
      return;
    }
    case YAML::NodeType::Map: {
      if (node.size() == 0) {
        out += "{}";
        return;
      }
      out.push_back('{');
      bool first = true;
      for (const auto& entry : node) {
        if (!first) out.push_back(',');
        first = false;
        Newline(out, indent, depth + 1);
        out += JsonQuote(entry.first.IsScalar() ? entry.first.Scalar() : "");
        out += indent > 0 ? ": " : ":";
        AppendJsonAt(entry.second, out, indent, depth + 1);
      }
      Newline(out, indent, depth);
      out.push_back('}');
      return;
    }
  }
}

}  // namespace

ScalarType ResolvePlainScalar(std::string_view text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return ScalarType::kNull;
  }
  if (text == "true" || text == "True" || text == "TRUE" || text == "false" || text == "False" ||
      text == "FALSE") {
    return ScalarType::kBool;
  }
  if (Matches(text, IntRegex())) return ScalarType::kInt;
  if (Matches(text, FloatRegex())) return ScalarType::kFloat;
  return ScalarType::kString;
}

ScalarType ScalarTypeOf(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return ScalarType::kNull;
  if (node.Tag() != "?") return ScalarType::kString;
  return ResolvePlainScalar(node.Scalar());
}

std::string JsonNumber(std::string_view text, ScalarType type) {
  std::string s(text);
  if (type == ScalarType::kInt && (s.rfind("0x", 0) == 0 || s.rfind("0o", 0) == 0)) {
    errno = 0;
    unsigned long long value = std::strtoull(s.c_str() + 2, nullptr, s[1] == 'x' ? 16 : 8);
    if (errno == 0) return std::to_string(value);
    return JsonQuote(s);
  }
  if (s.find("inf") != std::string::npos || s.find("Inf") != std::string::npos ||
      s.find("INF") != std::string::npos) {
    return s[0] == '-' ? "\"-Infinity\"" : "\"Infinity\"";
  }
  if (s.find("nan") != std::string::npos || s.find("NaN") != std::string::npos ||
      s.find("NAN") != std::string::npos) {
    return "\"NaN\"";
  }
  std::string sign;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    if (s[0] == '-') sign = "-";
    s.erase(0, 1);
  }
  // Integer part: no leading zeros, at least one digit.
  size_t end = s.find_first_not_of("0123456789");
  std::string integer = s.substr(0, end);
  std::string rest = end == std::string::npos ? "" : s.substr(end);
  size_t nonzero = integer.find_first_not_of('0');
  integer = nonzero == std::string::npos ? "0" : integer.substr(nonzero);
  // Fraction: at least one digit after a '.'.
  if (!rest.empty() && rest[0] == '.' && (rest.size() == 1 || rest[1] < '0' || rest[1] > '9')) {
    rest.insert(1, "0");
  }
  return sign + integer + rest;
}

void AppendJson(const YAML::Node& node, std::string& out, int indent) {
  AppendJsonAt(node, out, indent, 0);
}

YAML::Node StringNode(std::string_view text) {
  YAML::Node node{std::string(text)};
  node.SetTag("!");
  return node;
}

YAML::Node PlainNode(std::string_view text) {
  YAML::Node node{std::string(text)};
  node.SetTag("?");
  return node;
}

void EmitYaml(const YAML::Node& node, YAML::Emitter& out) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out << YAML::Null;
      return;
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (ScalarTypeOf(node) != ScalarType::kString) {
        out << text;
      } else if (ResolvePlainScalar(text) != ScalarType::kString) {
        out << YAML::DoubleQuoted << text;
      } else {
        out << text;
      }
      return;
    }
    case YAML::NodeType::Sequence:
      if (node.size() == 0) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const auto& element : node) EmitYaml(element, out);
      out << YAML::EndSeq;
      return;
    case YAML::NodeType::Map:
      if (node.size() == 0) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (const auto& entry : node) {
        out << YAML::Key;
        EmitYaml(entry.first, out);
        out << YAML::Value;
        EmitYaml(entry.second, out);
      }
      out << YAML::EndMap;
      return;
  }
}

}  // namespace protomesh::ctl

