#pragma once
// Private to the config loader: a fast parser for the plain subset of YAML that key files
// use, because yaml-cpp's scanner reads about 5 MB/s and a 100k-key file is ~20 MB.
// It feeds the same YAML::EventHandler with the same events and marks as YAML::Parser;
// on anything outside the subset it gives up and the caller re-parses with yaml-cpp, which
// stays the reference (and reports every syntax error).
#include <string_view>
#include <yaml-cpp/eventhandler.h>

namespace keygate::yaml {

/// A handler that can take a scalar as a view into the text being parsed, instead of a
/// std::string copy (a 100k-key file has ~2 million scalars). parse_simple_subset() calls
/// OnScalarView for every plain scalar and every quoted scalar without escapes when its
/// handler is one of these; the view lives as long as the parsed text.
class ScalarViewHandler : public YAML::EventHandler {
  public:
    /// A scalar whose value is exactly `text`; `quoted` as the tag "!" (else "?") of OnScalar.
    virtual void OnScalarView(const YAML::Mark& mark, bool quoted, std::string_view text) = 0;
};

/// Parses `text` when it holds only: block maps and sequences indented with spaces,
/// single-line flow lists and maps, plain scalars on one line, quoted scalars on one line
/// (escapes \\ \" \/ \n \t \r only) and comments. Returns false as soon as the text leaves
/// that subset (tabs, anchors, aliases, tags, block scalars, multi-line scalars or flow,
/// document markers, directives, a byte order mark, anything unusual, any syntax error);
/// the events already sent must then be discarded. Exceptions of the handler pass through.
bool parse_simple_subset(std::string_view text, YAML::EventHandler& handler);

} // namespace keygate::yaml
