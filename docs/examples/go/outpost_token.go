// An Outpost visitor token, minted by your Go backend with golang-jwt
// (go get github.com/golang-jwt/jwt/v5). Mint one for the signed-in user on each page load and
// put it in the script tag's data-token (or hand it to Outpost.identify).
//
// Run on its own, it prints a token: OUTPOST_PROJECT=acme OUTPOST_SECRET=… go run outpost_token.go user-42
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type outpostClaims struct {
	Project string `json:"project"`
	jwt.RegisteredClaims
}

// OutpostToken signs a token for visitorID (your own stable id for them: their conversations
// follow it) valid for ttl, at most the project's token lifetime (24 hours by default).
func OutpostToken(visitorID, project, secret string, ttl time.Duration) (string, error) {
	now := time.Now()
	claims := outpostClaims{
		Project: project,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: visitorID,
			// golang-jwt writes the audience as an array (["outpost"]); Outpost accepts both forms.
			Audience:  jwt.ClaimStrings{"outpost"},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}

func main() {
	visitor := "user-1"
	if len(os.Args) > 1 {
		visitor = os.Args[1]
	}
	token, err := OutpostToken(visitor, os.Getenv("OUTPOST_PROJECT"), os.Getenv("OUTPOST_SECRET"), time.Hour)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(token)
}
