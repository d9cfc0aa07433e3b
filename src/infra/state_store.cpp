// JSON state file with atomic replacement.
#include "infra/state_store.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace keygate {
namespace {

using nlohmann::json;

json optional_time(const std::optional<TimePoint>& t) {
    return t ? json(format_timestamp(*t, true)) : json(nullptr);
}

std::optional<TimePoint> read_time(const json& j) {
    if (!j.is_string())
        return std::nullopt;
    auto t = parse_timestamp(j.get<std::string>());
    return t ? std::optional<TimePoint>(*t) : std::nullopt;
}

json entry_to_json(const KeyEntry& e) {
    json cidrs = json::array();
    for (const auto& c : e.ip_allowlist)
        cidrs.push_back(c.text);
    return json{
        {"id", e.id},
        {"tenant", e.tenant ? json(*e.tenant) : json(nullptr)},
        {"role", e.role},
        {"description", e.description},
        {"allowed_datasets", e.allowed_datasets ? json(*e.allowed_datasets) : json(nullptr)},
        {"denied_datasets", e.denied_datasets},
        {"permissions", e.permissions ? json(*e.permissions) : json(nullptr)},
        {"enabled", e.enabled},
        {"not_before", optional_time(e.not_before)},
        {"expires_at", optional_time(e.expires_at)},
        {"rate_limit", e.rate_limit ? json(*e.rate_limit) : json(nullptr)},
        {"daily_limit", e.daily_limit ? json(*e.daily_limit) : json(nullptr)},
        {"ip_allowlist", cidrs}};
}

KeyEntry entry_from_json(const json& j) {
    KeyEntry e;
    e.id = j.at("id").get<std::string>();
    if (j.at("tenant").is_string())
        e.tenant = j["tenant"].get<std::string>();
    e.role = j.at("role").get<std::string>();
    e.description = j.value("description", "");
    if (j.at("allowed_datasets").is_array()) {
        e.allowed_datasets = j["allowed_datasets"].get<std::vector<std::string>>();
    }
    e.denied_datasets = j.at("denied_datasets").get<std::vector<std::string>>();
    if (j.at("permissions").is_array())
        e.permissions = j["permissions"].get<std::vector<std::string>>();
    e.enabled = j.at("enabled").get<bool>();
    e.not_before = read_time(j.at("not_before"));
    e.expires_at = read_time(j.at("expires_at"));
    if (j.at("rate_limit").is_number_unsigned())
        e.rate_limit = j["rate_limit"].get<std::uint64_t>();
    if (j.at("daily_limit").is_number_unsigned())
        e.daily_limit = j["daily_limit"].get<std::uint64_t>();
    for (const auto& c : j.at("ip_allowlist")) {
        if (auto cidr = parse_cidr(c.get<std::string>()))
            e.ip_allowlist.push_back(*cidr);
    }
    return e;
}

} // namespace

StateStore::StateStore(std::string directory) : directory_(std::move(directory)) {}

std::string StateStore::file_path() const {
    return directory_ + "/state.json";
}

bool StateStore::save(const PersistentState& state, std::string& error) const {
    json grace = json::array();
    for (const auto& w : state.grace) {
        grace.push_back({{"secret", format_secret(w.secret)},
                         {"until", format_timestamp(w.until, true)},
                         {"entry", entry_to_json(w.entry)}});
    }
    json usage = json::array();
    for (const auto& u : state.usage) {
        usage.push_back({{"key_id", u.key_id},
                         {"total_requests", u.total_requests},
                         {"first_seen", format_timestamp(u.first_seen, true)},
                         {"last_used", optional_time(u.last_used)},
                         {"old_secret_requests", u.old_secret_requests},
                         {"old_secret_last_used", optional_time(u.old_secret_last_used)}});
    }
    const std::string text = json{{"version", 1}, {"grace", grace}, {"usage", usage}}.dump() + "\n";

    std::error_code ec;
    std::filesystem::create_directories(directory_, ec);
    const std::string tmp = file_path() + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = "cannot write state file '" + tmp + "': " + std::strerror(errno);
        return false;
    }
    std::size_t done = 0;
    bool ok = true;
    while (done < text.size()) {
        const auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ok = false;
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    ok = ok && ::fsync(fd) == 0;
    const int saved_errno = errno;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), file_path().c_str()) != 0) {
        error = "cannot write state file '" + file_path() +
                "': " + std::strerror(ok ? errno : saved_errno);
        ::unlink(tmp.c_str());
        return false;
    }
    return true;
}

bool StateStore::load(PersistentState& state, std::string& error) const {
    std::ifstream in(file_path(), std::ios::binary);
    if (!in)
        return true; // no state yet
    std::stringstream buffer;
    buffer << in.rdbuf();
    try {
        const json j = json::parse(buffer.str());
        PersistentState loaded;
        for (const auto& w : j.at("grace")) {
            auto secret = parse_secret(w.at("secret").get<std::string>());
            auto until = parse_timestamp(w.at("until").get<std::string>());
            if (!secret || !until)
                throw std::runtime_error("bad grace window");
            loaded.grace.push_back({*secret, entry_from_json(w.at("entry")), *until});
        }
        for (const auto& u : j.at("usage")) {
            UsageTracker::Totals t;
            t.key_id = u.at("key_id").get<std::string>();
            t.total_requests = u.at("total_requests").get<std::uint64_t>();
            t.first_seen = read_time(u.at("first_seen")).value_or(TimePoint{});
            t.last_used = read_time(u.at("last_used"));
            // Absent in files written before keygate counted old-secret uses.
            t.old_secret_requests = u.value("old_secret_requests", std::uint64_t{0});
            if (u.contains("old_secret_last_used"))
                t.old_secret_last_used = read_time(u["old_secret_last_used"]);
            loaded.usage.push_back(std::move(t));
        }
        state = std::move(loaded);
        return true;
    } catch (const std::exception&) {
        // never echo the file's content: it holds digests
        error = "state file '" + file_path() + "' is corrupt; starting without it";
        return false;
    }
}

} // namespace keygate
