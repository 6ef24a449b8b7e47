"""An Outpost visitor token, minted by your Python backend with PyJWT (pip install PyJWT).

Mint one for the signed-in user on each page load and put it in the script tag's data-token
(or hand it to Outpost.identify). In Flask, for example:

    @app.get("/docs")
    def docs():
        return render_template("docs.html", outpost_token=outpost_token(current_user.id))

Run on its own, it prints a token:
    OUTPOST_PROJECT=acme OUTPOST_SECRET=… python3 outpost_token.py user-42
"""

import os
import sys
import time

import jwt


def outpost_token(visitor_id, project=None, secret=None, minutes=60):
    project = project or os.environ["OUTPOST_PROJECT"]
    secret = secret or os.environ["OUTPOST_SECRET"]
    now = time.time()
    claims = {
        # Your own stable id for the visitor: their conversations follow it across devices.
        "sub": str(visitor_id),
        "project": project,
        "aud": "outpost",
        "iat": now,
        # At most the project's token lifetime (24 hours unless --token-lifetime says otherwise).
        "exp": now + minutes * 60,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


if __name__ == "__main__":
    print(outpost_token(sys.argv[1] if len(sys.argv) > 1 else "user-1"))
