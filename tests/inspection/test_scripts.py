import numpy as np

from tokun.inspection import scripts


def test_a_known_character_gets_its_script() -> None:
    got = {c: scripts.script_of(c) for c in "aЖ中ا7ก"}
    assert got == {"a": "Latn", "Ж": "Cyrl", "中": "Hani", "ا": "Arab", "7": "Zyyy", "ก": "Thai"}
    assert scripts.script_name("Cyrl") == "Cyrillic" and scripts.script_name(scripts.OTHER) == "other"


def test_a_text_gets_the_script_of_its_letters_not_of_its_punctuation() -> None:
    assert scripts.text_script("hi, мир мир!") == "Cyrl"  # 2 Latin letters, 6 Cyrillic, Common punctuation
    assert scripts.text_script("  42, 17!\0\0") == "Zyyy"  # only Common characters
    assert scripts.text_script("") == "Zyyy"


def test_main_script_is_the_rule_of_texts_and_of_languages() -> None:
    assert scripts.main_script(["Zyyy"] * 5 + ["Latn", "Cyrl", "Cyrl"]) == "Cyrl"  # Common counts only alone
    assert scripts.main_script(["Zinh", "Zyyy", "Zyyy"]) == "Zyyy" and scripts.main_script([]) == "Zyyy"
    text = "hi, мир!"
    assert scripts.text_script(text) == scripts.main_script(scripts.script_of(c) for c in text)


def test_legends_keep_the_commonest_labels_and_other_last() -> None:
    labels = ["b"] * 3 + ["a"] * 5 + ["c"]
    top = scripts.top_labels(labels, 2)
    assert top == ["b"] * 3 + ["a"] * 5 + [scripts.OTHER]
    assert scripts.legend_order(top) == ["a", "b", scripts.OTHER]


def test_block_samples_draw_from_each_unicode_block() -> None:
    cps = scripts.block_samples(3, stop=0x180)  # Basic Latin, Latin-1 Supplement, Latin Extended-A
    assert len(cps) == 9 and np.all(np.diff(cps.astype(int)) > 0)
    assert [int((cps < 0x80).sum()), int(((cps >= 0x80) & (cps < 0x100)).sum())] == [3, 3]
    assert np.array_equal(cps, scripts.block_samples(3, stop=0x180))  # seeded


def test_docstring_examples() -> None:
    import doctest

    result = doctest.testmod(scripts)
    assert result.attempted > 0 and result.failed == 0
