"""The rating model: predicts the stars a user would give a product, to rank retrieved candidates.

Public contract (docs/ARCHITECTURE.md): ``ranker.scoring`` (UserContext, Prediction, fuse) and
``ranker.serve.load_ranker``. Workflow stages, one file each: ``data`` (readers, split, leakage
guard) -> ``baselines`` -> ``train`` (the recipe) -> ``evaluate`` -> ``serve`` -> ``update``
(continual learning) / ``versions``; ``metrics`` are pure functions; ``bench`` times scoring.
"""
