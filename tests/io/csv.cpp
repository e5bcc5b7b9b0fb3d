// Tests of include/metagrad/io/csv.hpp: reading a tabular data set, and a clear error naming the
// line and field for each kind of bad input.
#include <string>

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

#include "allocations.hpp"
#include "files.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using test_files::expect_error;

BOOST_AUTO_TEST_CASE(reads_plain_and_sklearn_files) {
    const auto d = mg::load_csv<double, mg::shape<2>>(test_files::write("plain.csv", "x,y,label\n1.5,-2,1\n3e2, 4 ,0\r\n\n"), 2,
                                                      {.skip_lines = 1});
    BOOST_TEST(d.size() == 2u);
    BOOST_TEST(d.sample(1)[0] == 300.0);
    BOOST_TEST(d.labels[0] == 1u);
    const auto s = mg::load_csv<float, mg::shape<3>>(test_files::write("sk.csv", "2,3,a,b\n1,2,3,0\n4,5,6,1\n"), 2,
                                                     {.sklearn_header = true});
    BOOST_TEST(s.sample(1)[2] == 6.0f);
}

BOOST_AUTO_TEST_CASE(rejects_bad_files_with_a_clear_message) {
    const auto load = [](const std::string& name, const std::string& text, bool sklearn = false) {
        return [=] { (void)mg::load_csv<double, mg::shape<2>>(test_files::write(name, text), 3, {.sklearn_header = sklearn}); };
    };
    expect_error([] { (void)mg::load_csv<double, mg::shape<2>>(test_files::path("missing.csv"), 3); },
                 {"missing.csv", "opening"});
    expect_error(load("fields.csv", "1,2,0\n1,2\n"), {"fields.csv", "line 2", "3 fields", "found 2"});
    expect_error(load("word.csv", "1,2,0\n1,abc,2\n"), {"word.csv", "line 2, field 2", "a finite number", "'abc'"});
    expect_error(load("nan.csv", "nan,2,0\n"), {"nan.csv", "line 1, field 1", "finite"});
    expect_error(load("inf.csv", "1,inf,0\n"), {"inf.csv", "line 1, field 2", "finite"});
    expect_error(load("label.csv", "1,2,3\n"), {"label.csv", "line 1, field 3", "class label 0..2", "'3'"});
    expect_error(load("fraction.csv", "1,2,1.5\n"), {"fraction.csv", "class label", "'1.5'"});
    expect_error(load("empty.csv", ""), {"empty.csv", "at least one sample"});
    expect_error(load("features.csv", "2,4,a,b,c\n1,2,0\n", true), {"features.csv", "line 1, field 2", "2 features", "found 4"});
    expect_error(load("classes.csv", "1,2,a,b\n1,2,0\n", true), {"classes.csv", "3 class names", "found 2"});
    expect_error(load("count.csv", "5,2,a,b,c\n1,2,0\n", true), {"count.csv", "5 samples", "found 1"});
}

// Issue 12, finding 2: every path is read to its end or refused with an io_error.
BOOST_AUTO_TEST_CASE(pipes_devices_and_directories) {
    const std::string text = "1.5,-2,1\n3e2, 4 ,0\n";
    const auto from_file = mg::load_csv<double, mg::shape<2>>(test_files::write("piped.csv", text), 2);
    test_files::fifo pipe("csv.fifo", text);
    const auto from_pipe = mg::load_csv<double, mg::shape<2>>(pipe.path(), 2);
    const auto from_memory = mg::load_csv_from_memory<double, mg::shape<2>>(text, 2);
    BOOST_TEST((from_pipe.features == from_file.features && from_pipe.labels == from_file.labels));
    BOOST_TEST((from_memory.features == from_file.features && from_memory.labels == from_file.labels));
    BOOST_TEST(from_file.size() == 2u);

    const std::string directory = test_files::path("a-directory.csv");
    ::mkdir(directory.c_str(), 0700);
    expect_error([&] { (void)mg::load_csv<double, mg::shape<2>>(directory, 2); }, {"a-directory.csv", "opening", "found a directory"});
    expect_error([] { (void)mg::load_csv<double, mg::shape<2>>("/dev/null", 2); }, {"/dev/null", "line 0", "at least one sample"});
    expect_error([] { (void)mg::load_csv_from_memory<double, mg::shape<2>>("1,2\n", 2, {}, "named.csv"); }, {"named.csv", "line 1", "3 fields"});
}

// The read limit bounds the text and the data set built from it, which may be larger: "1,2,0"
// is 6 bytes of text and 20 as two doubles and a label.
BOOST_AUTO_TEST_CASE(the_read_limit_bounds_text_and_data) {
    std::string text;
    for (int i = 0; i < 10; ++i) text += "1,2,0\n";
    const std::string file = test_files::write("limit.csv", text);
    {
        test_files::read_limit limit(59);
        expect_error([&] { (void)mg::load_csv<double, mg::shape<2>>(file, 3); },
                     {"limit.csv", "opening", "at most 59 bytes to read", "set_max_read_bytes", "a file of this size: 60 bytes"});
    }
    {
        test_files::read_limit limit(100);
        expect_error([&] { (void)mg::load_csv<double, mg::shape<2>>(file, 3); },
                     {"limit.csv", "line 6", "at most 100 bytes to read", "a data set of 6 samples: 120 bytes"});
    }
    {
        test_files::read_limit limit(200);
        BOOST_TEST((mg::load_csv<double, mg::shape<2>>(file, 3).size() == 10u));
    }
}

// Issue 12, finding 2: an allocation failure is an io_error naming the file, not std::bad_alloc.
BOOST_AUTO_TEST_CASE(an_allocation_failure_is_an_io_error) {
    std::string text;
    for (int i = 0; i < 40000; ++i) text += "1,2,0\n";  // 240 KB
    const std::string file = test_files::write("big.csv", text);
    test_allocations::watch allocations(100000);
    expect_error([&] { (void)mg::load_csv<double, mg::shape<2>>(file, 3); },
                 {"big.csv", "reading", "memory for its data", "allocation failure (std::bad_alloc)"});
}
