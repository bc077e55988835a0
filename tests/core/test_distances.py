"""Edit distances: small cases, and the many-pair versions against the textbook recursion."""

import numpy as np

from tokun.core import distances


def test_edit_distance() -> None:
    assert distances.edit_distance(np.array([1, 2, 3]), np.array([1, 3])) == 1
    assert distances.edit_distance(np.array([1, 2]), np.array([3, 4])) == 2
    assert distances.edit_distance(np.array([5, 1, 2, 3]), np.array([1, 2, 3, 5])) == 2
    # vectorised over pairs: the same as the textbook recursion on random short rows
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 3, (40, 6)), rng.integers(0, 3, (40, 6))

    def slow(x, y) -> int:
        if not len(x) or not len(y):
            return len(x) + len(y)
        return min(slow(x[1:], y) + 1, slow(x, y[1:]) + 1, slow(x[1:], y[1:]) + int(x[0] != y[0]))

    assert distances.edit_distances(a, b).tolist() == [slow(list(x), list(y)) for x, y in zip(a, b)]
    # every pair of rows at once, rows of unequal content and an empty one
    rows = rng.integers(0, 3, (12, 5))
    m = distances.edit_distance_matrix(rows)
    assert m.shape == (12, 12) and (m == m.T).all() and (np.diag(m) == 0).all()
    assert all(m[i, j] == slow(list(rows[i]), list(rows[j])) for i in range(12) for j in range(12))
    assert distances.edit_distances(np.zeros((0, 4), int), np.zeros((0, 4), int)).shape == (0,)
