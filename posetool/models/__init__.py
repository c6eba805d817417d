"""Models: the registry (:mod:`registry`, :mod:`zoo`), weights cache (:mod:`weights`), safe
checkpoint loading (:mod:`checkpoint`), device selection (:mod:`device`) and the shared loader
(:mod:`loader`). Architectures live in one file each."""
