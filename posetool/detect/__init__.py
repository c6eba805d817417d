"""Person detection: backends (hog, gt, centernet, blazepose) behind one interface, box NMS, and
the ``detect`` stage loop that writes boxes into a pose stream."""
