"""the results page: per-arm bayesian summary, recommendation, charts and csv exports of one experiment."""
