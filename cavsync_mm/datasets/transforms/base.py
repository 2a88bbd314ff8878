"""Common base of the cavsync transforms: a readable ``__repr__``."""
from mmcv.transforms import BaseTransform


class ClipTransform(BaseTransform):
    """An mmcv ``BaseTransform`` whose ``repr`` lists its settings.

    Subclasses keep each constructor argument as a public attribute of the
    same name; ``repr`` shows them as ``Name(arg=value, ...)``.
    """

    def __repr__(self) -> str:
        args = ', '.join(f'{key}={value!r}' for key, value in vars(self).items()
                         if not key.startswith('_'))
        return f'{type(self).__name__}({args})'

    @staticmethod
    def clip_name(results: dict) -> str:
        return str(results.get('video_id', results.get('sample_idx', '?')))


def is_multi_frame(results: dict) -> bool:
    """True when a sample holds a ``(T, ...)`` stack of frames/segments."""
    return (results.get('sampling') == 'all_frames'
            or len(results.get('frame_indices', ())) != 1)
