"""Playing files a browser cannot: direct play, remux or transcode per file and per browser, over HLS."""
