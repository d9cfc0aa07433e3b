#pragma once
// A listening Unix domain socket for `--listen unix:/path` (CONTRACT §6): a sidecar that
// shares a directory (an emptyDir) with its proxy in the pod, and no TCP port at all.
#include "core/result.hpp"

#include <string>

namespace keygate {

/// Creates a listening AF_UNIX SOCK_STREAM socket at `path` (close-on-exec, non-blocking),
/// mode 0660, with `backlog`, and returns its descriptor (the caller closes it, and removes
/// the file with remove_unix_socket()). A socket file left at `path` by a process that is
/// gone (connect() is refused) is replaced; anything else already at `path` — a live
/// socket, a regular file, a directory — is an error that names it, and is left alone.
/// The message of every error starts with "cannot listen on unix:PATH: ".
Result<int> listen_unix_socket(const std::string& path, int backlog);

/// The check listen_unix_socket() makes before bind(), for a server that binds the path
/// itself (gRPC): a stale socket file at `path` is removed; a live socket or anything else
/// there is an error (same messages), and is left alone. Nothing there: success.
Result<void> clear_stale_unix_socket(const std::string& path);

/// Removes the socket file at `path` if there is one (anything else there is left alone).
/// For after the listening descriptor was closed; errors are ignored.
void remove_unix_socket(const std::string& path);

} // namespace keygate
