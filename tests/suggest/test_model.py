"""The classifier on its own: it fits each distinct text once, weighed by how often it
occurs (the first view's training time), and answers every text it is asked about."""
from finance_app.suggest.model import train, training_set
from tests.suggest.conftest import categorised_rows


def examples(rows):
    return [(f"{description} {merchant}", category)
            for _, _, description, merchant, category in rows]


def test_repeated_texts_are_fitted_once_with_their_count_as_weight():
    texts, labels, weights = training_set([
        ("TESCO STORES 4411", "Groceries"), ("tesco stores 9", "Groceries"),
        ("TESCO STORES 12", "Household"), ("UBER TRIP 1", "Transport")])
    # Digits fold to one symbol and case is ignored, so the two Groceries rows are one text;
    # the same text under another category stays apart.
    assert list(zip(texts, labels, weights)) == [
        ("tesco stores 0", "Groceries", 2), ("tesco stores 0", "Household", 1),
        ("uber trip 0", "Transport", 1)]


def test_a_ledger_of_repeating_shops_trains_on_few_documents():
    rows = examples(categorised_rows(per_category=50))
    texts, _, weights = training_set(rows)
    assert sum(weights) == len(rows) == 200
    assert len(texts) <= 12  # 12 shops, whatever their reference numbers
    model = train(rows)
    assert model.trained_on == 200 and len(model.categories) == 4


def test_predict_answers_each_text_in_order_including_repeats():
    model = train(examples(categorised_rows()))
    texts = ["TESCO STORES 1 Tesco", "UBER *TRIP 2 Uber", "TESCO STORES 3 Tesco"]
    answers = model.predict(texts)
    assert [category for category, _ in answers] == ["Groceries", "Transport", "Groceries"]
    assert answers[0] == answers[2]
