package tgfake

import (
	"fmt"
	"net/http"
)

// Exact Bot API error descriptions (PLATFORMS.md §1).
const (
	DescUnauthorized        = "Unauthorized"
	DescNotFound            = "Not Found"
	DescChatNotFound        = "Bad Request: chat not found"
	DescChatIDEmpty         = "Bad Request: chat_id is empty"
	DescTextEmpty           = "Bad Request: message text is empty"
	DescTextTooLong         = "Bad Request: message is too long"
	DescNotUTF8             = "Bad Request: strings must be encoded in UTF-8"
	DescButtonDataInvalid   = "Bad Request: BUTTON_DATA_INVALID"
	DescBadMarkup           = "Bad Request: can't parse reply keyboard markup JSON object"
	DescNotModified         = "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"
	DescMessageToEditAbsent = "Bad Request: message to edit not found"
	DescMessageIDEmpty      = "Bad Request: message identifier is not specified"
	DescMessageCantBeEdited = "Bad Request: message can't be edited"
	DescQueryTooOld         = "Bad Request: query is too old and response timeout expired or query ID is invalid"
	DescCallbackTextLong    = "Bad Request: MESSAGE_TOO_LONG"
	DescSecretChars         = "Bad Request: secret token contains unallowed characters"
	DescSecretTooLong       = "Bad Request: secret token is too long"
	DescBadWebhookURL       = "Bad Request: bad webhook: Failed to resolve host: Name or service not known"
	DescBlocked             = "Forbidden: bot was blocked by the user"
	DescDeactivated         = "Forbidden: user is deactivated"
	DescConflictPoll        = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
	DescConflictWebhook     = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)

// apiError is a Bot API failure: HTTP status = code.
type apiError struct {
	code       int
	desc       string
	retryAfter int
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.code, e.desc) }

func badRequest(desc string) *apiError { return &apiError{code: http.StatusBadRequest, desc: desc} }

func forbidden(desc string) *apiError { return &apiError{code: http.StatusForbidden, desc: desc} }

func conflict(desc string) *apiError { return &apiError{code: http.StatusConflict, desc: desc} }

func tooMany(retryAfter int) *apiError {
	return &apiError{
		code:       http.StatusTooManyRequests,
		desc:       fmt.Sprintf("Too Many Requests: retry after %d", retryAfter),
		retryAfter: retryAfter,
	}
}
