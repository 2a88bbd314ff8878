"""The error raised for a clip that cannot be read as the config asks."""


class ClipError(ValueError):
    """A clip (or its datafile entry) is unusable.

    The message always names the clip and the field (datafile key or file)
    at fault, e.g. ``clip abc: field 'wav': audio is 1.20 s, needs at least
    4.16 s``. :class:`AudioVisualDataset` with ``on_error='skip'`` catches
    exactly this error (and nothing else, so that bugs are not hidden), logs
    it, counts it and serves another clip.

    Args:
        clip (str): the clip's ``video_id`` (or the entry index).
        field (str): the datafile key or file the problem is in.
        problem (str): what is wrong, with the numbers that show it.
    """

    def __init__(self, clip: str, field: str, problem: str):
        self.clip = clip
        self.field = field
        self.problem = problem
        super().__init__(f"clip {clip}: field '{field}': {problem}")
