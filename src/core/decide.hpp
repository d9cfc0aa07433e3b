#pragma once
// The pure decision function: rows 1–7 of CONTRACT §5. Rate limits (row 8) are applied by
// the caller, since they are state.
#include "core/auth_request.hpp"
#include "core/decision.hpp"
#include "core/glob.hpp"
#include "core/key_store.hpp"
#include "core/time.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keygate {

/// What a method and path need: the permission, and the dataset the route captured. Views
/// into the routes (or static text) and the segments passed to required_access().
struct RequiredAccess {
    std::string_view permission;
    std::optional<std::string_view> dataset;
};

/// Finds the permission a request needs: the file's routes in order, then the defaults
/// (/admin/** admin; /v1/datasets/{dataset}/** read for GET/HEAD/OPTIONS else write;
/// POST /v1/query read; other GET/HEAD/OPTIONS read; anything else write).
RequiredAccess required_access(const std::vector<Route>& routes, std::string_view method,
                               const std::vector<std::string>& segments,
                               RouteCase route_case = RouteCase::exact);

/// True when a case-insensitive backend could route the path differently from keygate: the
/// routes matched ASCII case-insensitively give another permission or dataset than matched
/// exactly ("/V1/DATASETS/customers/rows" names no dataset to keygate, but `customers` to
/// such a backend). decide() treats such a request as ambiguous (row 0).
bool case_ambiguous(const std::vector<Route>& routes, std::string_view method,
                    const std::vector<std::string>& segments, const RequiredAccess& exact);

/// Decides a request against one snapshot at time `now`. Pure: no I/O, no clock, no state.
Decision decide(const KeyStore& store, const AuthRequest& request, TimePoint now);

/// True when `name` is a plausible dataset name: 1–128 of [A-Za-z0-9._:-]. Others are
/// always denied, so that no encoded slash, glob or control byte reaches a glob match.
bool valid_dataset_name(std::string_view name);

} // namespace keygate
