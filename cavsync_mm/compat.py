"""Compatibility of the pinned OpenMMLab releases with current torch (placeholder)."""
