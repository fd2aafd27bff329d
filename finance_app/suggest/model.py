"""The category classifier: TF-IDF over a row's description and merchant, then a linear model.

Bank strings are noisy ("CARD 4411 TESCO STORES 3297 LONDON"), so the features are character
n-grams within words (robust to truncation, spacing and reference numbers) with digit runs
folded into one symbol; a multinomial logistic regression on top gives calibrated-enough
probabilities to rank suggestions by.

This module knows nothing about users or requests: it learns from the examples it is given.
Which rows those are (only the ones the request may see) is decided in `service.py`.
"""
import re
from collections import Counter
from dataclasses import dataclass
from typing import Optional

# Below these there is too little to learn from: a model would only echo the one category.
MIN_EXAMPLES = 10
MIN_CATEGORIES = 2
# Bounds the vocabulary (and so the pickled model in the cache) on large ledgers.
MAX_FEATURES = 50_000

_DIGITS = re.compile(r"\d+")


def row_text(description, merchant):
    """What the classifier reads of a row."""
    return f"{description or ''} {merchant or ''}".strip()


def normalise(text):
    # Module level (not a lambda) so that the fitted pipeline pickles into the cache.
    return _DIGITS.sub("0", text.lower())


@dataclass
class CategoryModel:
    """A fitted classifier, or the reason there is none."""

    trained_on: int
    categories: tuple
    pipeline: Optional[object] = None
    reason: Optional[str] = None

    @property
    def ready(self):
        return self.pipeline is not None

    def predict(self, texts):
        """[(category, confidence)] for each text, confidence in [0, 1]."""
        if not self.ready or not texts:
            return []
        # Each distinct text once: a ledger's uncategorised rows repeat (the same shop
        # every week), and the features of a text are most of the time taken.
        texts = [normalise(text) for text in texts]
        distinct = list(dict.fromkeys(texts))
        probabilities = self.pipeline.predict_proba(distinct)
        classes = self.pipeline.classes_
        best = probabilities.argmax(axis=1)
        answers = {text: (str(classes[i]), float(p[i]))
                   for text, i, p in zip(distinct, best, probabilities)}
        return [answers[text] for text in texts]

    def summary(self):
        return {"ready": self.ready, "trained_on": self.trained_on,
                "categories": len(self.categories), "reason": self.reason}


def training_set(examples):
    """(texts, labels, weights): each distinct (normalised text, category) pair once, weighed
    by how often it occurs. Bank rows repeat (the same shop every week, reference numbers
    folded by `normalise`), so the model fits a few hundred documents instead of thousands;
    for the logistic regression a weight of n is the same as n copies."""
    counts = Counter((normalise(text), category) for text, category in examples)
    pairs = sorted(counts)  # a stable order: the same rows train the same model
    return ([text for text, _ in pairs], [category for _, category in pairs],
            [counts[pair] for pair in pairs])


def train(examples):
    """Fit a model on (text, category) pairs; too few of them gives a model that says why."""
    categories = tuple(sorted({category for _, category in examples}))
    if len(examples) < MIN_EXAMPLES or len(categories) < MIN_CATEGORIES:
        return CategoryModel(
            trained_on=len(examples), categories=categories,
            reason=(f"Too little to learn from: categorise at least {MIN_EXAMPLES} "
                    f"transactions in at least {MIN_CATEGORIES} categories (you have "
                    f"{len(examples)} in {len(categories)})."),
        )
    # Imported here: scikit-learn takes seconds to load, and only training needs it (every
    # `flask` command and worker start would pay for it otherwise).
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), preprocessor=normalise,
                        sublinear_tf=True, max_features=MAX_FEATURES),
        LogisticRegression(C=10.0, max_iter=1000),
    )
    texts, labels, weights = training_set(examples)
    pipeline.fit(texts, labels, logisticregression__sample_weight=weights)
    return CategoryModel(trained_on=len(examples), categories=categories, pipeline=pipeline)
