// Checks that the code blocks of docs/*.md marked `<!-- snippet: FILE [NAME] -->` are exactly the
// region of FILE between two `// [NAME]` lines (indentation removed), so the docs show code that
// compiles. Usage: docs_snippets SOURCE_DIR DOC...
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {
std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string trim_left(const std::string& s) { return s.substr(s.find_first_not_of(' ') == std::string::npos ? s.size() : s.find_first_not_of(' ')); }

// The region between the two marker lines, dedented by the first line's indentation.
std::vector<std::string> region(const std::vector<std::string>& lines, const std::string& name) {
    const std::string marker = "// [" + name + "]";
    std::vector<std::string> out;
    bool inside = false;
    std::size_t indent = 0;
    for (const auto& line : lines) {
        if (trim_left(line) == marker) {
            if (inside) return out;
            inside = true;
            indent = line.find('/');
            continue;
        }
        if (inside) out.push_back(line.size() >= indent ? line.substr(indent) : trim_left(line));
    }
    return {};
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: docs_snippets SOURCE_DIR DOC...\n");
        return 2;
    }
    const std::string root = argv[1];
    int failures = 0, checked = 0;
    for (int a = 2; a < argc; ++a) {
        const auto doc = read_lines(argv[a]);
        for (std::size_t i = 0; i < doc.size(); ++i) {
            const std::string prefix = "<!-- snippet: ";
            if (doc[i].rfind(prefix, 0) != 0) continue;
            std::istringstream spec(doc[i].substr(prefix.size()));
            std::string file, name;
            spec >> file >> name;
            name = name.substr(1, name.size() - 2);  // strip [ ]
            const auto expected = region(read_lines(root + "/" + file), name);
            std::vector<std::string> shown;
            std::size_t j = i + 2;  // skip the ```cpp line
            for (; j < doc.size() && doc[j] != "```"; ++j) shown.push_back(doc[j]);
            ++checked;
            if (expected.empty() || shown != expected) {
                ++failures;
                std::fprintf(stderr, "%s:%zu: the block differs from %s [%s]\n", argv[a], i + 1, file.c_str(), name.c_str());
            }
        }
    }
    std::printf("%d snippets checked, %d differ\n", checked, failures);
    return failures == 0 && checked > 0 ? 0 : 1;
}
