// keygate's entry point: dispatches to a subcommand. The one top-level catch lives here.
#include "cli/commands.hpp"

#include <exception>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    using namespace keygate::cli;
    if (argc < 2) {
        std::cerr << usage_text();
        return k_exit_usage;
    }
    const std::string command = argv[1];
    const Args args(argv + 2, argv + argc);
    try {
        if (command == "serve") return run_serve(args);
        if (command == "validate") return run_validate(args, std::cout, std::cerr);
        if (command == "check") return run_check(args, std::cin, std::cout, std::cerr);
        if (command == "hash") return run_hash(args, std::cin, std::cout, std::cerr);
        if (command == "generate") return run_generate(args, std::cout, std::cerr);
        if (command == "rotate") return run_rotate(args, std::cout, std::cerr);
        if (command == "report") return run_report(args, std::cout, std::cerr);
        if (command == "probe") return run_probe(args, std::cout, std::cerr);
        if (command == "version" || command == "--version") return run_version(args, std::cout);
        if (command == "help" || command == "--help" || command == "-h") {
            std::cout << usage_text();
            return k_exit_ok;
        }
        std::cerr << "keygate: unknown command '" << command << "'\n" << usage_text();
        return k_exit_usage;
    } catch (const std::exception& e) {
        std::cerr << "keygate: " << e.what() << '\n';
        return k_exit_failed;
    }
}
