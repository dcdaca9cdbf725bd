package trail

import (
	"strings"

	"github.com/vpnaudit/vpnaudit/audit"
)

// actorFrom reads userIdentity (ui) into an Actor. extra is the record's
// additionalEventData, where sign-in events keep the user name.
//
// Name is how a person would refer to the caller:
//
//	IAMUser             userName (else the ARN's last segment, else principalId)
//	AssumedRole         <role>/<session>: sessionContext.sessionIssuer.userName
//	                    (else the role in the ARN) and the ARN's last segment
//	                    (else principalId after ":"), e.g.
//	                    AWSReservedSSO_NetworkAdmin_0123abcd/dana@example.com
//	FederatedUser       <issuing user>/<federated name>, or the federated name
//	Root                root
//	AWSService          invokedBy (autoscaling.amazonaws.com)
//	IdentityCenterUser  userName, else additionalEventData.UserName, else
//	                    onBehalfOf.userId
//	AWSAccount          accountId
//	no type             invokedBy ("AWS Internal" for AWS's own service events)
//	anything else       userName, else principalId
//
// and, when that is empty, principalId, accountId or the type in lower case.
func actorFrom(ui, extra record) audit.Actor {
	if ui == nil {
		return audit.Actor{}
	}
	a := audit.Actor{
		Type:        ui.text("type"),
		ARN:         ui.text("arn"),
		AccountID:   ui.text("accountId"),
		AccessKeyID: ui.text("accessKeyId"),
		InvokedBy:   ui.text("invokedBy"),
	}
	userName := ui.text("userName")
	principal := ui.text("principalId")
	issuer := ui.object("sessionContext").object("sessionIssuer").text("userName")

	var name string
	switch a.Type {
	case "Root":
		name = "root"
	case "IAMUser":
		name = first(userName, arnTail(a.ARN, ":user/"), principal)
	case "AssumedRole":
		role, session := assumedRole(a.ARN)
		name = join(first(issuer, role), first(session, afterColon(principal)))
	case "FederatedUser":
		name = join(issuer, first(arnTail(a.ARN, ":federated-user/"), afterColon(principal)))
	case "AWSService":
		name = a.InvokedBy
	case "IdentityCenterUser":
		name = first(userName, extra.text("UserName"), ui.object("onBehalfOf").text("userId"))
	case "AWSAccount":
		name = a.AccountID
	case "":
		name = first(a.InvokedBy, userName)
	default:
		name = first(userName, principal)
	}
	a.Name = first(name, principal, a.AccountID, strings.ToLower(a.Type))
	return a
}

// assumedRole splits an assumed-role ARN
// (arn:aws:sts::123456789012:assumed-role/ROLE/SESSION) into role and
// session.
func assumedRole(arn string) (role, session string) {
	_, rest, ok := strings.Cut(arn, "assumed-role/")
	if !ok {
		return "", ""
	}
	parts := strings.Split(rest, "/")
	role = strings.TrimSpace(parts[0])
	if len(parts) > 1 {
		session = strings.TrimSpace(parts[len(parts)-1])
	}
	return role, session
}

// arnTail returns the last path segment after marker in arn, or "".
func arnTail(arn, marker string) string {
	_, rest, ok := strings.Cut(arn, marker)
	if !ok {
		return ""
	}
	return strings.TrimSpace(rest[strings.LastIndexByte(rest, '/')+1:])
}

// afterColon returns what follows the last ":" in s (a principalId's session
// part), or "" when s has no colon.
func afterColon(s string) string {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(s[i+1:])
}

// join joins the non-empty ones of a and b with "/".
func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "/" + b
}

// first returns the first non-empty string.
func first(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
