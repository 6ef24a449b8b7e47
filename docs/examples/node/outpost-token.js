// An Outpost visitor token, minted by your Node.js backend with jsonwebtoken
// (npm install jsonwebtoken). Mint one for the signed-in user on each page load and put it in
// the script tag's data-token (or hand it to Outpost.identify):
//
//   app.get("/docs", (req, res) =>
//     res.render("docs", { outpostToken: outpostToken(req.user.id) }));
//
// Run on its own, it prints a token: OUTPOST_PROJECT=acme OUTPOST_SECRET=… node outpost-token.js user-42
const jwt = require("jsonwebtoken");

function outpostToken(
  visitorId,
  { project = process.env.OUTPOST_PROJECT, secret = process.env.OUTPOST_SECRET, minutes = 60 } = {}
) {
  return jwt.sign({ project }, secret, {
    algorithm: "HS256",
    // Your own stable id for the visitor: their conversations follow it across devices.
    subject: String(visitorId),
    audience: "outpost",
    // At most the project's token lifetime (24 hours unless `outpost project --token-lifetime`).
    expiresIn: minutes * 60,
  });
}

module.exports = { outpostToken };

if (require.main === module) console.log(outpostToken(process.argv[2] || "user-1"));
