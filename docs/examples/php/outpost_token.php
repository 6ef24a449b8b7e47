<?php
// An Outpost visitor token, minted by your PHP backend with firebase/php-jwt
// (composer require firebase/php-jwt). Mint one for the signed-in user on each page load and
// put it in the script tag's data-token (or hand it to Outpost.identify):
//
//   <script src="https://outpost.example.com/embed.js" data-project="acme"
//           data-token="<?= htmlspecialchars(outpost_token($user->id)) ?>" async></script>
//
// Run on its own, it prints a token: OUTPOST_PROJECT=acme OUTPOST_SECRET=… php outpost_token.php user-42
require __DIR__ . '/vendor/autoload.php';

use Firebase\JWT\JWT;

function outpost_token(string $visitorId, ?string $project = null, ?string $secret = null, int $minutes = 60): string
{
    $project ??= getenv('OUTPOST_PROJECT');
    $secret ??= getenv('OUTPOST_SECRET');
    $now = time();
    return JWT::encode([
        // Your own stable id for the visitor: their conversations follow it across devices.
        'sub' => $visitorId,
        'project' => $project,
        'aud' => 'outpost',
        'iat' => $now,
        // At most the project's token lifetime (24 hours unless --token-lifetime says otherwise).
        'exp' => $now + $minutes * 60,
    ], $secret, 'HS256');
}

if (PHP_SAPI === 'cli' && realpath($argv[0]) === __FILE__) {
    echo outpost_token($argv[1] ?? 'user-1'), "\n";
}
