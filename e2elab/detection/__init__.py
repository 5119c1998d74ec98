"""Face detection: find every face in a photo as a box (x, y, w, h in pixels) with a score.

The shared pieces (boxes, average precision, annotation readers) serve both pipelines: the
traditional sliding-window HOG + linear SVM detector and the end-to-end CNN detector.
"""
