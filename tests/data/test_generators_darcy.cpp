// Placeholder: filled by the generator work (issue 6).
#include <doctest/doctest.h>
