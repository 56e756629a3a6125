"""parse_range_header, case by case (RFC 9110 §14.1.2, §14.2): one test per edge case, as plain data."""

import pytest

from server.streaming.ranges import MAX_RANGES, ByteRange, Unsatisfiable, parse_range_header

SIZE = 1000


def parse(header: str, size: int = SIZE) -> list[tuple[int, int]] | None:
    ranges = parse_range_header(header, size)
    return None if ranges is None else [(r.start, r.end) for r in ranges]


def test_range_first_and_last_byte():
    assert parse("bytes=0-499") == [(0, 499)]


def test_range_two_byte_probe_is_two_bytes():
    assert parse("bytes=0-1") == [(0, 1)]


def test_range_open_ended_runs_to_the_end():
    assert parse("bytes=500-") == [(500, 999)]


def test_range_suffix_is_the_last_bytes():
    assert parse("bytes=-100") == [(900, 999)]


def test_range_end_past_the_file_is_clamped():
    assert parse("bytes=900-5000") == [(900, 999)]


def test_range_suffix_larger_than_file_is_the_whole_file():
    assert parse("bytes=-5000") == [(0, 999)]


def test_range_last_byte_only():
    assert parse("bytes=999-999") == [(999, 999)]


def test_range_start_at_the_end_is_unsatisfiable():
    with pytest.raises(Unsatisfiable):
        parse("bytes=1000-")


def test_range_start_past_the_end_is_unsatisfiable():
    with pytest.raises(Unsatisfiable):
        parse("bytes=5000-6000")


def test_range_zero_length_suffix_is_unsatisfiable():
    with pytest.raises(Unsatisfiable):
        parse("bytes=-0")


def test_range_one_satisfiable_among_unsatisfiable_is_served():
    assert parse("bytes=5000-6000,0-9") == [(0, 9)]


def test_range_unknown_unit_is_ignored():
    assert parse("items=0-1") is None


def test_range_unit_is_case_insensitive():
    assert parse("Bytes=0-1") == [(0, 1)]


def test_range_without_equals_sign_is_ignored():
    assert parse("bytes 0-1") is None


def test_range_reversed_is_invalid_and_ignored():
    assert parse("bytes=5-2") is None


def test_range_dash_alone_is_ignored():
    assert parse("bytes=-") is None


def test_range_letters_are_ignored():
    assert parse("bytes=a-b") is None


def test_range_negative_start_is_ignored():
    assert parse("bytes=--5") is None


def test_range_three_numbers_are_ignored():
    assert parse("bytes=1-2-3") is None


def test_range_non_ascii_digits_are_ignored():
    assert parse("bytes=\u0661-\u0662") is None


def test_range_empty_header_value_is_ignored():
    assert parse("bytes=") is None


def test_range_one_bad_spec_spoils_the_header():
    assert parse("bytes=0-1,x-y") is None


def test_range_empty_list_elements_are_skipped():
    assert parse("bytes=0-1,,10-11") == [(0, 1), (10, 11)]


def test_range_whitespace_around_specs_is_accepted():
    assert parse("bytes= 0-1 , 10-11") == [(0, 1), (10, 11)]


def test_range_twenty_digit_start_is_unsatisfiable():
    with pytest.raises(Unsatisfiable):
        parse("bytes=" + "9" * 20 + "-")


def test_range_five_thousand_digit_start_is_unsatisfiable_not_an_error():
    with pytest.raises(Unsatisfiable):
        parse("bytes=" + "9" * 5000 + "-")


def test_range_five_thousand_digit_end_is_clamped():
    assert parse("bytes=0-" + "9" * 5000) == [(0, 999)]


def test_range_five_thousand_digit_suffix_is_the_whole_file():
    assert parse("bytes=-" + "9" * 5000) == [(0, 999)]


def test_range_leading_zeros_do_not_make_a_number_huge():
    assert parse("bytes=" + "0" * 30 + "5-" + "0" * 30 + "9") == [(5, 9)]


def test_range_huge_reversed_numbers_are_invalid_not_unsatisfiable():
    assert parse("bytes=" + "9" * 30 + "-" + "9" * 25) is None


def test_range_several_are_sorted():
    assert parse("bytes=20-29,0-9") == [(0, 9), (20, 29)]


def test_range_overlapping_ones_are_merged():
    assert parse("bytes=0-9,5-14") == [(0, 14)]


def test_range_adjacent_ones_are_merged():
    assert parse("bytes=0-9,10-19") == [(0, 19)]


def test_range_contained_one_is_merged_away():
    assert parse("bytes=0-99,10-19") == [(0, 99)]


def test_range_suffix_and_prefix_merge_into_order():
    assert parse("bytes=-10,0-9") == [(0, 9), (990, 999)]


def test_range_as_many_as_the_cap_are_served():
    header = "bytes=" + ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(MAX_RANGES))
    assert len(parse(header)) == MAX_RANGES


def test_range_more_than_the_cap_are_ignored():
    header = "bytes=" + ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(MAX_RANGES + 1))
    assert parse(header) is None


def test_range_adding_up_to_more_than_the_file_is_ignored():
    assert parse("bytes=0-,0-") is None


def test_range_overlaps_within_the_file_size_are_still_merged():
    assert parse("bytes=0-499,0-499") == [(0, 499)]


def test_range_on_an_empty_file_is_ignored():
    assert parse("bytes=0-1", size=0) is None


def test_byte_range_length_counts_both_ends():
    assert ByteRange(10, 19).length == 10


def test_byte_range_content_range_names_the_size():
    assert ByteRange(0, 1).content_range(SIZE) == "bytes 0-1/1000"
