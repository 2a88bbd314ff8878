"""Helpers that config files import (after their ``_base_`` line).

MMEngine merges a child config into its base dict by dict, but a pipeline is
a list, and a variable of the base (``segment_length``) is substituted where
the base is read, not re-evaluated when a child changes it. A config that
changes the audio segment length must therefore rebuild every pipeline step
that reads it, plus the encoder's ``audio_length``; the sweep configs
(paper Fig. 4) call :func:`segment_length_overrides` for that instead of
repeating the rebuild in each file.

The import must follow the config's ``_base_ = ...`` line: MMEngine reads a
file whose first statement imports a non-builtin module as a new-style
(lazy-import) config. Imported functions are dropped from the loaded config.
"""


def _with_segment_length(dataset, segment_length):
    """The dataset dict (or a wrapper around it) with its pipeline's
    FrameAlignedSegments steps set to ``segment_length``."""
    dataset = dict(dataset)
    if 'pipeline' not in dataset and 'dataset' in dataset:
        dataset['dataset'] = _with_segment_length(dataset['dataset'],
                                                  segment_length)
        return dataset
    dataset['pipeline'] = [
        dict(step, segment_length=segment_length)
        if step['type'].split('.')[-1] == 'FrameAlignedSegments' else step
        for step in dataset['pipeline']]
    return dataset


def segment_length_overrides(base, segment_length):
    """``(model, train_dataloader, val_dataloader)`` overrides for a config
    whose audio segments are ``segment_length`` fbank frames: the encoder's
    ``audio_length`` and every FrameAlignedSegments step of ``base``'s
    train / val pipelines (``base`` is the child's ``_base_``)."""
    model = dict(backbone=dict(audio_length=segment_length))
    train, val = (dict(dataset=_with_segment_length(base[name]['dataset'],
                                                    segment_length))
                  for name in ('train_dataloader', 'val_dataloader'))
    return model, train, val
