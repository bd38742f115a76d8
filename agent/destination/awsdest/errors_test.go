package awsdest

import "testing"

func TestClassifyAPI(t *testing.T) {
	tests := []struct {
		status int
		code   string
		msg    string
		sender bool
		want   class
	}{
		{400, "ThrottlingException", "", true, retryable},
		{403, "RequestThrottled", "", true, retryable},
		{429, "Throttled", "", true, retryable},
		{429, "", "", true, retryable},
		{408, "", "", true, retryable},
		{400, "KMS.ThrottlingException", "", true, retryable},
		{409, "ResourceConflictException", "The operation cannot be performed at this time.", true, retryable},
		{500, "InternalError", "", false, retryable},
		{503, "SlowDown", "", false, retryable},
		{502, "KMSAccessDeniedException", "", false, retryable},
		{301, "PermanentRedirect", "", false, retryable},
		{400, "AWS.SimpleQueueService.NonExistentQueue", "", true, permanent},
		{403, "AccessDenied", "", true, permanent},
		{404, "NotFound", "Topic does not exist", true, permanent},
		{404, "ResourceNotFoundException", "", true, permanent},
		{400, "InvalidParameter", "Invalid parameter: TopicArn", true, permanent},
		{400, "InvalidParameterValue", "Value for parameter MessageGroupId is invalid.", true, permanent},
		{400, "InvalidParameter", "Invalid parameter: Message too long", true, tooLarge},
		{400, "InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.", true, tooLarge},
		{400, "ValidationException", "Total size of the entries in the request is over the limit.", true, tooLarge},
		{413, "RequestTooLargeException", "", true, tooLarge},
		{413, "", "", true, tooLarge},
		{400, "BatchRequestTooLong", "", true, tooLarge},
		{400, "EntityTooLarge", "", true, tooLarge},
		// batch entries: SenderFault decides what the code does not
		{0, "InternalError", "", false, retryable},
		{0, "InvalidMessageContents", "", true, permanent},
		{0, "SomethingNew", "", false, retryable},
		{0, "InvalidArgument", "Event size exceeds the maximum size limit of 262144 bytes.", true, tooLarge},
		{0, "InternalFailure", "", true, retryable},
	}
	for _, tt := range tests {
		if got := classifyAPI(tt.status, tt.code, tt.msg, tt.sender); got != tt.want {
			t.Errorf("classifyAPI(%d, %q, %q, %v) = %d, want %d", tt.status, tt.code, tt.msg, tt.sender, got, tt.want)
		}
	}
}
