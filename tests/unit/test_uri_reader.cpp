// The one URI reader: raw bytes, cut at '?' and '#', each segment decoded once, dot
// segments resolved, anything two readers could read differently ambiguous.
#include "core/uri_reader.hpp"

#include <catch2/catch.hpp>

using namespace keygate;

namespace {

using Segments = std::vector<std::string>;

Segments segments_of(std::string_view uri) {
    const OriginalUri read = read_original_uri(uri);
    INFO(uri << " (" << read.why << ")");
    REQUIRE_FALSE(read.ambiguous);
    return read.segments;
}

bool ambiguous(std::string_view uri) {
    return read_original_uri(uri).ambiguous;
}

} // namespace

TEST_CASE("uri reader: path, dataset and api_key parameters", "[uri_reader]") {
    const auto uri = read_original_uri("/v1/datasets/orders/rows?dataset=a&x=1&dataset=b%20c");
    CHECK_FALSE(uri.ambiguous);
    CHECK(uri.path == "/v1/datasets/orders/rows");
    CHECK(uri.segments == Segments{"v1", "datasets", "orders", "rows"});
    CHECK(uri.datasets == Segments{"a", "b c"});
    CHECK_FALSE(uri.api_key);
    CHECK(read_original_uri("/x?api_key=k%2B1&api_key=k2").api_key == "k+1");
    CHECK(read_original_uri("https://example.test/v1/query?dataset=o").path == "/v1/query");
    CHECK(read_original_uri("https://example.test/v1/query?dataset=o").datasets == Segments{"o"});
    CHECK(read_original_uri("").path == "/");
    CHECK(read_original_uri("").segments.empty());
    // A raw '#' (nginx passes it on; backends cut it differently) is ambiguous.
    CHECK(ambiguous("/a#frag?dataset=x"));
    CHECK(ambiguous("/a?dataset=x#frag&dataset=y"));
    CHECK(ambiguous("/v1/datasets/orders/rows#/../../customers"));
    CHECK(read_original_uri("/a?dataset=x+y").datasets == Segments{"x y"});
}

TEST_CASE("uri reader: each segment decoded once, empty and dot segments resolved",
          "[uri_reader]") {
    CHECK(segments_of("/") == Segments{});
    CHECK(segments_of("/v1//datasets/") == Segments{"v1", "datasets"});
    CHECK(segments_of("/v1/datasets/orders/../customers/rows") ==
          Segments{"v1", "datasets", "customers", "rows"});
    CHECK(segments_of("/v1/./x") == Segments{"v1", "x"});
    CHECK(segments_of("/v1/%2E%2E/x") == Segments{"x"});
    CHECK(segments_of("/v1/%2e/x") == Segments{"v1", "x"});
    CHECK(segments_of("/v1/%6Frders") == Segments{"v1", "orders"});
    CHECK(segments_of("/v1/%6frders") == Segments{"v1", "orders"});
    CHECK(segments_of("/v1/caf%C3%A9") == Segments{"v1", "caf\xC3\xA9"});
    CHECK(ambiguous("/v1/orders;x/rows"));       // "orders" to a servlet container
    CHECK(ambiguous("/v1/datasets;/customers")); // "/v1/datasets/customers" there
    CHECK(ambiguous("/v1/datasets%3B/customers"));
    CHECK(segments_of("/v1/a+b") == Segments{"v1", "a+b"}); // '+' is a space only in queries
}

TEST_CASE("uri reader: what two readers could read differently is ambiguous", "[uri_reader]") {
    // The found bypasses: a decoded '?' or '#' cut the path early.
    CHECK(ambiguous("/v1/datasets/orders%3F/../customers/rows"));
    CHECK(ambiguous("/v1/datasets/orders%3f/../customers/rows"));
    CHECK(ambiguous("/v1/datasets/orders%23/../customers/rows"));
    CHECK(ambiguous("/v1/query%3F/../datasets/orders/rows"));
    // Encoded separators and escapes.
    CHECK(ambiguous("/v1/datasets/a%2Fb/rows"));
    CHECK(ambiguous("/v1/datasets/a%2fb/rows"));
    CHECK(ambiguous("/v1/datasets/a%5Cb/rows"));
    CHECK(ambiguous("/v1/datasets/a\\b/rows"));
    CHECK(ambiguous("/v1/datasets/%2561/rows")); // decodes to "%61": a second decoder reads 'a'
    CHECK(ambiguous("/v1/datasets/%25/rows"));
    CHECK(ambiguous("/v1/datasets/%zz/rows"));
    CHECK(ambiguous("/v1/datasets/a%4/rows"));
    CHECK(ambiguous("/v1/datasets/a%"));
    // NUL and control bytes, encoded or raw.
    CHECK(ambiguous("/v1/datasets/orders%00/rows"));
    CHECK(ambiguous("/v1/datasets/orders%0A/rows"));
    CHECK(ambiguous("/v1/datasets/orders%7F/rows"));
    CHECK(ambiguous(std::string_view("/v1/datasets/orders\0/rows", 24)));
    CHECK(ambiguous("/v1/datasets/orders\t/rows"));
    // Overlong UTF-8 ('.' and '/'), surrogates, stray continuation bytes.
    CHECK(ambiguous("/v1/datasets/%c0%ae%c0%ae/customers"));
    CHECK(ambiguous("/v1/datasets/%e0%80%ae/customers"));
    CHECK(ambiguous("/v1/%c0%af"));
    CHECK(ambiguous("/v1/%ed%a0%80"));
    CHECK(ambiguous("/v1/%80"));
    CHECK(ambiguous("/v1/%f4%90%80%80"));
    // Dot segments with parameters (servlet containers), and '..' above the root.
    CHECK(ambiguous("/v1/datasets/..;/customers/rows"));
    CHECK(ambiguous("/v1/datasets/.;x/orders"));
    CHECK(ambiguous("/v1/datasets/%2e%2e;/customers"));
    CHECK(ambiguous("/v1/;x/../admin")); // "/admin" to a servlet container
    CHECK(ambiguous("/v1/%3Bx/../admin"));
    CHECK(ambiguous("/../x"));
    CHECK(ambiguous("/v1/../../x"));
    CHECK(ambiguous("/%2e%2e/admin"));
    // Neither origin-form nor absolute-form.
    CHECK(ambiguous("*"));
    CHECK(ambiguous("v1/datasets/orders"));
    CHECK(ambiguous("a/b://c/d"));
    CHECK_FALSE(ambiguous("http://host"));
    CHECK(read_original_uri("http://host").segments.empty());
}

TEST_CASE("uri reader: the query is read with the same care", "[uri_reader]") {
    CHECK(read_original_uri("/x?data%73et=customers").datasets == Segments{"customers"});
    CHECK(read_original_uri("/x?DataSet=customers").datasets == Segments{"customers"});
    CHECK(read_original_uri("/x?a=1;dataset=customers").datasets == Segments{"customers"});
    CHECK(read_original_uri("/x?dataset=orders&dataset=customers").datasets ==
          Segments{"orders", "customers"});
    CHECK(ambiguous("/x?dataset=orders%2Fx"));
    CHECK(ambiguous("/x?dataset=orders%00"));
    CHECK(ambiguous("/x?dataset=%2563ustomers"));
    CHECK(ambiguous("/x?dataset=%zz"));
    CHECK(ambiguous("/x?data%2573et=customers")); // a second decoder reads "dataset"
    CHECK(ambiguous("/x?data%zzset=customers"));
    CHECK(ambiguous("/x?api_key=a%00b"));
    // Other parameters are the query service's business.
    CHECK_FALSE(ambiguous("/x?q=%2F%00%25&dataset=orders"));
    CHECK_FALSE(ambiguous("/x?=&&;;"));
    const OriginalUri uri = read_original_uri("/v1/datasets/%2561?dataset=x");
    CHECK(uri.ambiguous);
    CHECK(uri.datasets.empty());
    CHECK(uri.segments.empty());
    CHECK_FALSE(uri.why.empty());
}

TEST_CASE("uri reader: strict percent-decoding and UTF-8", "[uri_reader]") {
    std::string out;
    CHECK(percent_decode_strict("a%41%62+c", false, out));
    CHECK(out == "aAb+c");
    CHECK(percent_decode_strict("a%41%62+c", true, out));
    CHECK(out == "aAb c");
    CHECK_FALSE(percent_decode_strict("%4", false, out));
    CHECK_FALSE(percent_decode_strict("%", false, out));
    CHECK_FALSE(percent_decode_strict("%g1", false, out));
    CHECK(valid_utf8("plain"));
    CHECK(valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
    CHECK_FALSE(valid_utf8("\xC0\xAE"));
    CHECK_FALSE(valid_utf8("\xE0\x80\xAE"));
    CHECK_FALSE(valid_utf8("\xED\xA0\x80"));
    CHECK_FALSE(valid_utf8("\xC3"));
    CHECK_FALSE(valid_utf8("\xFF"));
}
