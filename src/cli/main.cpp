// keygate's entry point: dispatches to a subcommand. The one top-level catch lives here.
#include "cli/cli_commands.hpp"

#include <exception>
#include <iostream>

int main(int argc, char** argv) {
    using namespace keygate::cli;
    try {
        return dispatch(Args(argv + 1, argv + argc), std::cin, std::cout, std::cerr);
    } catch (const std::exception& e) {
        std::cerr << "keygate: " << e.what() << '\n';
        return k_exit_failed;
    }
}
