"""The rating model: predicts the stars a user would give a product, to rank retrieved candidates.

Public contract (docs/ARCHITECTURE.md): ``ranker.scoring`` (Ranker, CatalogReader, UserContext,
Prediction, fuse) and ``ranker.serve.load_ranker``. Workflow stages, one file each: ``data``
(readers, split, leakage guard) -> ``baselines`` -> ``train`` (the recipe) -> ``evaluate`` ->
``serve`` -> ``update`` (continual learning) / ``versions``; ``features`` (the model's inputs) is
shared by training and serving; ``metrics`` are pure functions; ``bench`` times scoring;
``fusion_eval`` measures the rating weight of ``fuse``, ``taste_eval`` the taste term's effect.
"""
