// The key hygiene report.
#include "infra/key_report.hpp"

#include "core/key_expiry.hpp"

#include <algorithm>
#include <unordered_map>

namespace keygate {
namespace {

using json = nlohmann::ordered_json;

json time_or_null(const std::optional<TimePoint>& t, bool with_millis) {
    return t ? json(format_timestamp(*t, with_millis)) : json(nullptr);
}

json text_or_null(const std::optional<std::string>& text) {
    return text ? json(*text) : json(nullptr);
}

ReportedKey reported(const KeyEntry& e) {
    ReportedKey key;
    key.key_id = e.id;
    key.tenant = e.tenant;
    key.role = e.role;
    return key;
}

std::optional<TimePoint> later(std::optional<TimePoint> a, TimePoint b) {
    return a ? std::max(*a, b) : b;
}

/// The old-secret entry of `id`, appended on first sight.
ReportedOldSecret& old_secret_of(std::vector<ReportedOldSecret>& list, const KeyEntry& e) {
    const auto it = std::find_if(list.begin(), list.end(),
                                 [&](const ReportedOldSecret& s) { return s.key_id == e.id; });
    if (it != list.end())
        return *it;
    list.push_back({e.id, e.tenant, std::nullopt, std::nullopt, std::nullopt, std::nullopt});
    return list.back();
}

std::string who(const std::string& id, const std::optional<std::string>& tenant) {
    return "  " + id + (tenant ? " (tenant " + *tenant + ")" : " (no tenant)");
}

void section_title(std::string& out, const std::string& title, std::size_t count) {
    out += title + ": " + (count == 0 ? std::string("none") : std::to_string(count)) + "\n";
}

Result<Duration> positive_duration(std::string_view name, std::string_view text) {
    const auto d = parse_duration(text);
    if (!d || d->count() <= 0)
        return fail(std::string(name) + " must be a positive duration such as 30d");
    return *d;
}

} // namespace

KeyReport build_key_report(const KeyStore& store, const std::vector<UsageTracker::Totals>* usage,
                           TimePoint now, ReportWindows windows) {
    KeyReport report;
    report.generated_at = now;
    report.windows = windows;
    report.keys = store.keys().size();
    report.usage_known = usage != nullptr;
    std::unordered_map<std::string, const UsageTracker::Totals*> totals;
    if (usage != nullptr) {
        for (const auto& t : *usage)
            totals.emplace(t.key_id, &t);
    }
    const auto totals_of = [&](const std::string& id) -> const UsageTracker::Totals* {
        const auto it = totals.find(id);
        return it == totals.end() ? nullptr : it->second;
    };

    for (const ResolvedKey& key : store.keys()) {
        const KeyEntry& e = key.entry;
        if (!still_usable(e, now))
            continue;
        if (expires_within(e, now, windows.expiring)) {
            ReportedKey item = reported(e);
            item.expires_at = e.expires_at;
            report.expiring.push_back(std::move(item));
        }
        if (report.usage_known) {
            const UsageTracker::Totals* t = totals_of(e.id);
            const std::optional<TimePoint> last = t != nullptr ? t->last_used : std::nullopt;
            if (!last || now - *last >= windows.unused) {
                ReportedKey item = reported(e);
                item.last_used = last;
                report.unused.push_back(std::move(item));
            }
        }
        if (!e.rate_limit) {
            ReportedKey item = reported(e);
            item.daily_limit = e.daily_limit;
            report.no_rate_limit.push_back(std::move(item));
        }
        for (const PreviousSecret& p : e.previous_keys) {
            if (now < p.expires_at) {
                ReportedOldSecret& s = old_secret_of(report.old_secrets, e);
                s.previous_keys_until = later(s.previous_keys_until, p.expires_at);
            }
        }
    }
    // Automatic grace windows, also of ids the file no longer has (their entry is kept).
    for (const GraceSecret& window : store.grace_secrets()) {
        if (now >= window.until)
            continue;
        if (const ResolvedKey* current = store.find_by_id(window.entry.id);
            current != nullptr && !current->entry.enabled) {
            continue; // a disabled id honours no old secret
        }
        ReportedOldSecret& s = old_secret_of(report.old_secrets, window.entry);
        s.grace_until = later(s.grace_until, window.until);
    }
    if (report.usage_known) {
        for (ReportedOldSecret& s : report.old_secrets) {
            const UsageTracker::Totals* t = totals_of(s.key_id);
            s.requests = t != nullptr ? t->old_secret_requests : 0;
            s.last_used = t != nullptr ? t->old_secret_last_used : std::nullopt;
        }
    }
    std::stable_sort(
        report.expiring.begin(), report.expiring.end(),
        [](const ReportedKey& a, const ReportedKey& b) { return *a.expires_at < *b.expires_at; });
    return report;
}

nlohmann::ordered_json key_report_json(const KeyReport& report) {
    json expiring = json::array();
    for (const ReportedKey& k : report.expiring) {
        expiring.push_back({{"key_id", k.key_id},
                            {"tenant", text_or_null(k.tenant)},
                            {"role", k.role},
                            {"expires_at", time_or_null(k.expires_at, false)}});
    }
    json unused = report.usage_known ? json::array() : json(nullptr);
    for (const ReportedKey& k : report.unused) {
        unused.push_back({{"key_id", k.key_id},
                          {"tenant", text_or_null(k.tenant)},
                          {"role", k.role},
                          {"last_used", time_or_null(k.last_used, true)}});
    }
    json old_secrets = json::array();
    for (const ReportedOldSecret& s : report.old_secrets) {
        old_secrets.push_back({{"key_id", s.key_id},
                               {"tenant", text_or_null(s.tenant)},
                               {"previous_keys_until", time_or_null(s.previous_keys_until, false)},
                               {"grace_until", time_or_null(s.grace_until, false)},
                               {"requests", s.requests ? json(*s.requests) : json(nullptr)},
                               {"last_used", time_or_null(s.last_used, true)}});
    }
    json no_rate_limit = json::array();
    for (const ReportedKey& k : report.no_rate_limit) {
        no_rate_limit.push_back(
            {{"key_id", k.key_id},
             {"tenant", text_or_null(k.tenant)},
             {"role", k.role},
             {"daily_limit", k.daily_limit ? json(*k.daily_limit) : json(nullptr)}});
    }
    return json{{"generated_at", format_timestamp(report.generated_at, true)},
                {"keys", report.keys},
                {"expiring_within", format_duration(report.windows.expiring)},
                {"unused_for", format_duration(report.windows.unused)},
                {"usage_known", report.usage_known},
                {"expiring", std::move(expiring)},
                {"unused", std::move(unused)},
                {"old_secrets", std::move(old_secrets)},
                {"no_rate_limit", std::move(no_rate_limit)}};
}

std::string key_report_text(const KeyReport& report, std::string_view config_path) {
    std::string out = "keygate report for " + std::string(config_path) + " at " +
                      format_timestamp(report.generated_at) + ": " + std::to_string(report.keys) +
                      (report.keys == 1 ? " key\n" : " keys\n");
    section_title(out, "expiring within " + format_duration(report.windows.expiring),
                  report.expiring.size());
    for (const ReportedKey& k : report.expiring)
        out += who(k.key_id, k.tenant) + " expires " + format_timestamp(*k.expires_at) + "\n";

    const std::string unused_title = "unused for " + format_duration(report.windows.unused);
    if (!report.usage_known) {
        out += unused_title + ": unknown (no usage state: give --state-dir or KEYGATE_STATE_DIR)\n";
    } else {
        section_title(out, unused_title, report.unused.size());
        for (const ReportedKey& k : report.unused) {
            out += who(k.key_id, k.tenant) +
                   (k.last_used ? " last used " + format_timestamp(*k.last_used) : " never used") +
                   "\n";
        }
    }

    section_title(out, "rotated-out secrets still accepted", report.old_secrets.size());
    for (const ReportedOldSecret& s : report.old_secrets) {
        out += who(s.key_id, s.tenant);
        if (s.previous_keys_until)
            out += " previous_keys until " + format_timestamp(*s.previous_keys_until);
        if (s.grace_until)
            out += std::string(s.previous_keys_until ? "," : "") + " grace until " +
                   format_timestamp(*s.grace_until);
        if (!s.requests) {
            out += "\n";
        } else if (*s.requests == 0 || !s.last_used) {
            out += ": not used\n";
        } else {
            out += ": still used, " + std::to_string(*s.requests) +
                   (*s.requests == 1 ? " request" : " requests") + ", last " +
                   format_timestamp(*s.last_used) + "\n";
        }
    }

    section_title(out, "without a rate_limit", report.no_rate_limit.size());
    for (const ReportedKey& k : report.no_rate_limit) {
        out += who(k.key_id, k.tenant) + " role " + k.role +
               (k.daily_limit ? ", daily_limit " + std::to_string(*k.daily_limit) : "") + "\n";
    }
    return out;
}

Result<ReportWindows> parse_report_query(std::string_view query) {
    ReportWindows windows;
    bool seen_expiring = false;
    bool seen_unused = false;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty())
            continue;
        const std::size_t eq = pair.find('=');
        const std::string_view name = pair.substr(0, eq);
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        bool* seen = name == "expiring" ? &seen_expiring
                     : name == "unused" ? &seen_unused
                                        : nullptr;
        if (seen == nullptr)
            return fail("unknown parameter: only 'expiring' and 'unused' are accepted");
        if (*seen)
            return fail("parameter '" + std::string(name) + "' given twice");
        *seen = true;
        const auto d = positive_duration(name, value);
        if (!d)
            return fail(d.error().message);
        (name == "expiring" ? windows.expiring : windows.unused) = *d;
    }
    return windows;
}

} // namespace keygate
