# Zero-shot retrieval evaluation shared by the retrieval configs (paper Sec.
# 3.5.1): both directions, R@1/5/10 + median/mean rank, every aggregation of
# the T x T similarity matrix; the paper's diagonal mean (eq. 5) comes first
# and also gives the un-suffixed keys (retrieval/v2a_R@1, ...).
test_evaluator = dict(
    type='RetrievalMetric',
    strategies=['diagonal_mean', 'diagonal_max', 'block_mean', 'block_max'],
    directions=['v2a', 'a2v'],
    recall_ks=[1, 5, 10],
    normalize=True,          # cosine similarity of the global tokens
    temporal_pooling=None)   # 'mean': one averaged token per clip
test_cfg = dict(type='TestLoop')
