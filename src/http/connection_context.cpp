// The calling thread's current connection.
#include "http/connection_context.hpp"

namespace keygate::http {
namespace {

thread_local ConnectionContext* t_connection = nullptr;

} // namespace

ConnectionContext* current_connection() {
    return t_connection;
}

ConnectionScope::ConnectionScope(ConnectionContext& context) : previous_(t_connection) {
    t_connection = &context;
}

ConnectionScope::~ConnectionScope() {
    t_connection = previous_;
}

} // namespace keygate::http
