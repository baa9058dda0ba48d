// The providers' balance answers, the balance table and One API's test model rule.
#include "relay/channel_balance.hpp"

#include <catch2/catch.hpp>

#include "relay/channel_test.hpp"

using namespace oneapi::relay;

TEST_CASE("balance answers of DeepSeek, OpenRouter, SiliconFlow and OpenAI are read as documented", "[unit][chanops]") {
  // DeepSeek: total_balance is a string; the CNY entry wins (One API), else the first one.
  auto ds = parse_deepseek_balance(
      R"({"is_available":true,"balance_infos":[{"currency":"USD","total_balance":"3.50","granted_balance":"0.00","topped_up_balance":"3.50"},)"
      R"({"currency":"CNY","total_balance":"110.00","granted_balance":"10.00","topped_up_balance":"100.00"}]})");
  REQUIRE(ds);
  CHECK(ds->amount == Approx(110.0));
  CHECK(ds->currency == "CNY");
  auto usd =
      parse_deepseek_balance(R"({"is_available":true,"balance_infos":[{"currency":"USD","total_balance":"3.50"}]})");
  REQUIRE(usd);
  CHECK(usd->amount == Approx(3.5));
  CHECK(usd->currency == "USD");
  CHECK_FALSE(parse_deepseek_balance(R"({"is_available":false,"balance_infos":[]})"));
  CHECK_FALSE(parse_deepseek_balance(R"({"balance_infos":[{"currency":"CNY","total_balance":"lots"}]})"));
  CHECK_FALSE(parse_deepseek_balance("<html>"));

  auto orouter = parse_openrouter_credits(R"({"data":{"total_credits":100.5,"total_usage":25.75}})");
  REQUIRE(orouter);
  CHECK(orouter->amount == Approx(74.75));
  CHECK(orouter->currency == "USD");
  CHECK_FALSE(parse_openrouter_credits(R"({"data":{"total_credits":100.5}})"));

  auto sf = parse_siliconflow_user_info(
      R"({"code":20000,"message":"OK","status":true,"data":{"balance":"0.88","chargeBalance":"88.00","totalBalance":"88.88"}})",
      "CNY");
  REQUIRE(sf);
  CHECK(sf->amount == Approx(88.88));
  auto refused =
      parse_siliconflow_user_info(R"({"code":30001,"message":"invalid api key","status":false,"data":null})", "CNY");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("invalid api key") != std::string::npos);

  auto sub = parse_openai_subscription(
      R"({"object":"billing_subscription","has_payment_method":false,"soft_limit_usd":5,"hard_limit_usd":18,"system_hard_limit_usd":18,"access_until":0})");
  REQUIRE(sub);
  CHECK(sub->hard_limit_usd == Approx(18.0));
  CHECK_FALSE(sub->has_payment_method);
  auto cents = parse_openai_usage_cents(R"({"object":"list","total_usage":250.0})");
  REQUIRE(cents);
  CHECK(*cents == Approx(250.0));

  // 2024-03-15 12:00 UTC: this month with a payment method, 100 days back without.
  CHECK(openai_usage_query(1710504000, true) == "start_date=2024-03-01&end_date=2024-03-15");
  CHECK(openai_usage_query(1710504000, false) == "start_date=2023-12-06&end_date=2024-03-15");
}

TEST_CASE("the balance table covers DeepSeek, OpenRouter, SiliconFlow and OpenAI only", "[unit][chanops]") {
  for (int type : {1, 8, 20, 36, 44}) CHECK(balance_provider_for(type) != nullptr);
  for (int type : {3, 14, 24, 25, 50}) CHECK(balance_provider_for(type) == nullptr);
  CHECK(std::string(balance_provider_for(36)->name) == "DeepSeek");
}

TEST_CASE("One API's test model rule", "[unit][chanops]") {
  oneapi::store::Channel c;
  c.models = "gpt-4o-mini,gpt-3.5-turbo,gpt-4o";
  CHECK(test_model_for(c, "") == "gpt-3.5-turbo");  // the default, when served
  CHECK(test_model_for(c, "gpt-4o") == "gpt-4o");
  CHECK(test_model_for(c, "o3") == "gpt-4o-mini");  // not served: the first model
  c.models = "deepseek-chat,deepseek-reasoner";
  CHECK(test_model_for(c, "") == "deepseek-chat");
  c.models = "gpt-3.5-turbo-16k";
  CHECK(test_model_for(c, "") == "gpt-3.5-turbo-16k");  // whole names (One API matches substrings)
}
