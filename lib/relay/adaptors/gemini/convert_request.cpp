// OpenAI chat and embeddings requests -> Gemini's GenerateContentRequest and
// BatchEmbedContentsRequest (field names as in Google's REST documentation).
#include <map>
#include <utility>

#include "core/util.hpp"
#include "relay/adaptors/gemini/convert.hpp"

namespace oneapi::relay::adaptors::gemini {

namespace {

using nlohmann::json;

Error bad_request(std::string message) {
  return Error::make(ErrorKind::invalid_request, std::move(message), "invalid_request_for_gemini");
}

std::string string_member(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Gemini needs a MIME type for file_data; the URL's extension is all there is without fetching it.
std::string mime_from_url(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const std::string lower = to_lower_ascii(url);
  static constexpr std::pair<const char*, const char*> kTypes[] = {
      {".png", "image/png"},   {".webp", "image/webp"}, {".gif", "image/gif"},
      {".heic", "image/heic"}, {".heif", "image/heif"}, {".pdf", "application/pdf"}};
  for (const auto& [ext, mime] : kTypes)
    if (ends_with(lower, ext)) return mime;
  return "image/jpeg";
}

// image_url -> inline_data for data: URLs, file_data for http(s) URLs (the gateway fetches nothing).
Result<json> image_part(const json& image_url) {
  std::string url = image_url.is_string() ? image_url.get<std::string>() : string_member(image_url, "url");
  if (url.rfind("data:", 0) == 0) {
    const size_t comma = url.find(',');
    if (comma == std::string::npos) return bad_request("image data URL has no data");
    std::string_view meta = std::string_view(url).substr(5, comma - 5);  // "image/png;base64"
    if (!ends_with(meta, ";base64")) return bad_request("image data URLs must be base64-encoded");
    std::string mime(meta.substr(0, meta.find(';')));
    return json{{"inline_data", {{"mime_type", mime}, {"data", url.substr(comma + 1)}}}};
  }
  if (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0 || url.rfind("gs://", 0) == 0)
    return json{{"file_data", {{"mime_type", mime_from_url(url)}, {"file_uri", url}}}};
  return bad_request("image_url must be a data: URL or an http(s) URL");
}

// A message's content (a string, an array of parts, or null) appended as Gemini parts.
Result<void> append_parts(const json& content, json& parts) {
  if (content.is_null()) return {};
  if (content.is_string()) {
    if (!content.get_ref<const std::string&>().empty()) parts.push_back({{"text", content}});
    return {};
  }
  if (!content.is_array()) return bad_request("message content must be a string or an array of parts");
  for (const auto& p : content) {
    const std::string type = string_member(p, "type");
    if (type == "text") {
      parts.push_back({{"text", string_member(p, "text")}});
    } else if (type == "image_url") {
      auto image = image_part(p.value("image_url", json()));
      if (!image) return image.error();
      parts.push_back(std::move(*image));
    } else {
      return bad_request("content part type '" + type + "' is not supported by Gemini channels");
    }
  }
  return {};
}

std::string plain_text(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array())
    for (const auto& p : content)
      if (string_member(p, "type") == "text") out += string_member(p, "text");
  return out;
}

// A tool's answer as the JSON object functionResponse.response must be.
json tool_response(const json& content) {
  const std::string text = plain_text(content);
  auto parsed = json::parse(text, nullptr, false);
  if (parsed.is_object()) return parsed;
  return {{"content", parsed.is_discarded() ? json(text) : parsed}};
}

json function_call_part(const json& function) {
  json args = json::object();
  if (auto a = function.find("arguments"); a != function.end()) {
    if (a->is_string()) {
      auto parsed = json::parse(a->get<std::string>(), nullptr, false);
      if (parsed.is_object()) args = std::move(parsed);
    } else if (a->is_object()) {
      args = *a;
    }
  }
  return {{"functionCall", {{"name", string_member(function, "name")}, {"args", std::move(args)}}}};
}

// Gemini's schema dialect (an OpenAPI subset) rejects some JSON Schema keywords.
void clean_schema(json& schema) {
  if (!schema.is_object()) return;
  for (const char* k : {"$schema", "additionalProperties", "strict"}) schema.erase(k);
  if (auto p = schema.find("properties"); p != schema.end() && p->is_object())
    for (auto& property : p->items()) clean_schema(property.value());
  if (auto i = schema.find("items"); i != schema.end()) clean_schema(*i);
  for (const char* k : {"anyOf", "oneOf", "allOf"})
    if (auto a = schema.find(k); a != schema.end() && a->is_array())
      for (auto& sub : *a) clean_schema(sub);
}

json function_declaration(const json& f) {
  json decl = {{"name", string_member(f, "name")}};
  if (auto d = f.find("description"); d != f.end() && d->is_string()) decl["description"] = *d;
  if (auto p = f.find("parameters"); p != f.end() && p->is_object()) {
    json params = *p;
    clean_schema(params);
    // Gemini refuses an OBJECT without properties; a function without parameters omits them.
    auto props = params.find("properties");
    const bool empty_object = params.value("type", "") == "object" && (props == params.end() || props->empty());
    if (!empty_object) decl["parameters"] = std::move(params);
  }
  return decl;
}

void convert_tools(const json& openai, json& out) {
  json decls = json::array();
  if (auto tools = openai.find("tools"); tools != openai.end() && tools->is_array()) {
    for (const auto& t : *tools)
      if (t.is_object() && t.value("type", "function") == "function" && t.contains("function"))
        decls.push_back(function_declaration(t["function"]));
  } else if (auto fns = openai.find("functions"); fns != openai.end() && fns->is_array()) {
    for (const auto& f : *fns) decls.push_back(function_declaration(f));
  }
  if (decls.empty()) return;  // tool_choice means nothing without tools
  out["tools"] = json::array({{{"function_declarations", std::move(decls)}}});

  auto choice = openai.find("tool_choice");
  if (choice == openai.end() || choice->is_null()) return;
  json config;
  if (choice->is_string()) {
    const std::string c = choice->get<std::string>();
    if (c == "none") config = {{"mode", "NONE"}};
    if (c == "auto") config = {{"mode", "AUTO"}};
    if (c == "required") config = {{"mode", "ANY"}};
  } else if (choice->is_object()) {
    const std::string name = string_member(choice->value("function", json::object()), "name");
    if (!name.empty()) config = {{"mode", "ANY"}, {"allowedFunctionNames", {name}}};
  }
  if (!config.is_null()) out["toolConfig"] = {{"functionCallingConfig", std::move(config)}};
}

json generation_config(const json& openai) {
  json g = json::object();
  if (auto t = openai.find("temperature"); t != openai.end() && t->is_number()) g["temperature"] = *t;
  if (auto p = openai.find("top_p"); p != openai.end() && p->is_number()) g["topP"] = *p;
  for (const char* key : {"max_completion_tokens", "max_tokens"})
    if (auto m = openai.find(key); m != openai.end() && m->is_number_integer() && m->get<int64_t>() > 0) {
      g["maxOutputTokens"] = *m;
      break;
    }
  if (auto s = openai.find("stop"); s != openai.end()) {
    if (s->is_string())
      g["stopSequences"] = json::array({*s});
    else if (s->is_array() && !s->empty())
      g["stopSequences"] = *s;
  }
  const std::string format = string_member(openai.value("response_format", json::object()), "type");
  if (format == "json_object" || format == "json_schema") g["responseMimeType"] = "application/json";
  return g;
}

}  // namespace

Result<json> chat_request(const json& openai, std::string_view safety_threshold) {
  auto messages = openai.find("messages");
  if (messages == openai.end() || !messages->is_array()) return bad_request("messages must be an array");

  json contents = json::array();
  json system_parts = json::array();
  std::map<std::string, std::string> call_names;  // tool_call_id -> function name
  bool last_was_tool_answer = false;
  for (const auto& m : *messages) {
    if (!m.is_object()) return bad_request("each message must be an object");
    const std::string role = string_member(m, "role");
    const json content = m.value("content", json());
    if (role == "system" || role == "developer") {
      if (auto r = append_parts(content, system_parts); !r) return r.error();
      continue;
    }
    json parts = json::array();
    std::string gemini_role = "user";
    const bool tool_answer = role == "tool" || role == "function";
    if (role == "user") {
      if (auto r = append_parts(content, parts); !r) return r.error();
    } else if (role == "assistant") {
      gemini_role = "model";
      if (auto r = append_parts(content, parts); !r) return r.error();
      if (auto calls = m.find("tool_calls"); calls != m.end() && calls->is_array())
        for (const auto& call : *calls) {
          const json function = call.value("function", json::object());
          call_names[string_member(call, "id")] = string_member(function, "name");
          parts.push_back(function_call_part(function));
        }
      if (auto legacy = m.find("function_call"); legacy != m.end() && legacy->is_object())
        parts.push_back(function_call_part(*legacy));
    } else if (tool_answer) {
      std::string name = string_member(m, "name");
      if (auto it = call_names.find(string_member(m, "tool_call_id")); it != call_names.end()) name = it->second;
      if (name.empty()) return bad_request("a tool message answers no earlier tool call (tool_call_id unknown)");
      parts.push_back({{"functionResponse", {{"name", name}, {"response", tool_response(content)}}}});
    } else {
      return bad_request("message role '" + role + "' is not supported by Gemini channels");
    }
    if (parts.empty()) continue;  // Gemini refuses a turn without parts
    // The answers to one turn's calls go back together, as one user turn.
    if (tool_answer && last_was_tool_answer) {
      for (auto& p : parts) contents.back()["parts"].push_back(std::move(p));
    } else {
      contents.push_back({{"role", gemini_role}, {"parts", std::move(parts)}});
    }
    last_was_tool_answer = tool_answer;
  }
  if (contents.empty()) return bad_request("Gemini needs at least one user or assistant message");

  json out = {{"contents", std::move(contents)}};
  if (!system_parts.empty()) out["system_instruction"] = {{"parts", std::move(system_parts)}};
  convert_tools(openai, out);
  if (json g = generation_config(openai); !g.empty()) out["generationConfig"] = std::move(g);
  json safety = json::array();
  for (const char* category : {"HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH",
                               "HARM_CATEGORY_SEXUALLY_EXPLICIT", "HARM_CATEGORY_DANGEROUS_CONTENT"})
    safety.push_back({{"category", category}, {"threshold", safety_threshold}});
  out["safetySettings"] = std::move(safety);
  return out;
}

Result<json> embedding_request(const json& openai, std::string_view model) {
  const json input = openai.value("input", json());
  std::vector<std::string> texts;
  if (input.is_string()) {
    texts.push_back(input.get<std::string>());
  } else if (input.is_array() && !input.empty()) {
    for (const auto& item : input) {
      if (!item.is_string()) return bad_request("Gemini embeddings take input as a string or an array of strings");
      texts.push_back(item.get<std::string>());
    }
  } else {
    return bad_request("input must be a string or a non-empty array of strings");
  }
  const std::string name = "models/" + std::string(model);
  json requests = json::array();
  for (auto& text : texts) {
    json r = {{"model", name}, {"content", {{"parts", json::array({{{"text", std::move(text)}}})}}}};
    if (auto d = openai.find("dimensions"); d != openai.end() && d->is_number_integer()) r["outputDimensionality"] = *d;
    requests.push_back(std::move(r));
  }
  return json{{"requests", std::move(requests)}};
}

}  // namespace oneapi::relay::adaptors::gemini
