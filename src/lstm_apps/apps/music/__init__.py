"""Polyphonic music as piano rolls on the shared recurrent core (groundwork of the music app:
piano rolls, the network and the JSB measures; the datamodule, model, predictor and configs come
next)."""
