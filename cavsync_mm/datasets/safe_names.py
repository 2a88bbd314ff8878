"""File names made from video ids that cannot leave their folder.

Video ids come from datafiles and CSVs that users (or the internet) wrote:
``../../../x``, ``a/b``, ``C:\\x`` or ``.hidden`` must not become paths.
:func:`safe_file_stem` keeps ordinary ids (YouTube ids, ``clip_007``,
``abc-123_30.000``) unchanged and maps anything else to a name of safe
characters plus a short hash of the original id, so that two different ids
never share a file.
"""
import hashlib
import re

_SAFE_ID = re.compile(r'[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}')
_UNSAFE_CHARACTER = re.compile(r'[^A-Za-z0-9._-]')


def safe_file_stem(video_id: str) -> str:
    """A file-name stem for ``video_id``: no separators, no ``..``, no
    leading dot, at most 200 characters.

    Ids that are already safe are returned unchanged; others become
    ``<sanitised>-<8 hex digits of sha1(id)>``.
    """
    video_id = str(video_id)
    if _SAFE_ID.fullmatch(video_id) and '..' not in video_id:
        return video_id
    digest = hashlib.sha1(video_id.encode('utf-8', 'surrogatepass')
                          ).hexdigest()[:8]
    readable = _UNSAFE_CHARACTER.sub('_', video_id).replace('..', '__')
    readable = readable.lstrip('.')[:180] or 'clip'
    return f'{readable}-{digest}'
