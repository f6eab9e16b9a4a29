"""What the original Python service did, as the benchmark's reference: serve a file from one of
three mount-target directories, chosen by a hash of the path, with Flask's send_file."""
import hashlib
import os
import sys

from flask import Flask, abort, send_file

DIRS = os.environ["BENCH_DIRS"].split(":")
app = Flask(__name__)


@app.route("/files/<path:path>")
def get_file(path):
    index = int(hashlib.md5(path.encode()).hexdigest(), 16) % len(DIRS)
    full = os.path.join(DIRS[index], path)
    if not os.path.isfile(full):
        abort(404)
    return send_file(full)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
